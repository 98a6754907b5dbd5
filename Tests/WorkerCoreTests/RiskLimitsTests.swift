import RobotConfig
import Testing

@testable import WorkerCore

/// Each pre-trade limit at its boundary (passes) and one past it (refused, naming the limit and the figures).
@Suite struct RiskLimitsTests {
    let flat = RiskLimits.Book(position: 0, openOrders: 0, openBuyQuantity: 0, openSellQuantity: 0)

    func buy(_ q: Int, at price: Double? = 100) -> RiskLimits.Order { RiskLimits.Order(quantity: q, isBuy: true, price: price) }
    func sell(_ q: Int, at price: Double? = 100) -> RiskLimits.Order { RiskLimits.Order(quantity: q, isBuy: false, price: price) }

    @Test func noLimitsPassEverything() {
        var r = RiskLimits(RiskLimitSettings())
        #expect(r.check(buy(1_000_000, at: nil), book: flat, now: 0) == nil)
    }

    @Test func maxOrderQuantity() {
        var r = RiskLimits(RiskLimitSettings(maxOrderQuantity: 3))
        #expect(r.check(buy(3), book: flat, now: 0) == nil)
        let b = r.check(buy(4), book: flat, now: 0)
        #expect(b?.limit == "max_order_quantity")
        #expect(b?.detail == "quantity 4 is over the limit 3")
    }

    @Test func maxOpenOrders() {
        var r = RiskLimits(RiskLimitSettings(maxOpenOrders: 2))
        let one = RiskLimits.Book(position: 0, openOrders: 1, openBuyQuantity: 1, openSellQuantity: 0)
        let two = RiskLimits.Book(position: 0, openOrders: 2, openBuyQuantity: 2, openSellQuantity: 0)
        #expect(r.check(buy(1), book: one, now: 0) == nil)
        #expect(r.check(buy(1), book: two, now: 0)?.limit == "max_open_orders")
        #expect(r.check(buy(1), book: two, now: 0)?.detail.contains("2 open orders, limit 2") == true)
    }

    @Test func maxPositionCountsTheOpenOrdersOnTheSameSide() {
        var r = RiskLimits(RiskLimitSettings(maxPosition: 3))
        let long2 = RiskLimits.Book(position: 2, openOrders: 0, openBuyQuantity: 0, openSellQuantity: 0)
        #expect(r.check(buy(1), book: long2, now: 0) == nil) // 3: at the limit
        let past = r.check(buy(2), book: long2, now: 0)
        #expect(past?.limit == "max_position")
        #expect(past?.detail.contains("4 would be over the limit 3") == true)
        #expect(r.check(sell(5), book: long2, now: 0) == nil) // -3: at the limit, short
        #expect(r.check(sell(6), book: long2, now: 0)?.limit == "max_position")
        let pending = RiskLimits.Book(position: 1, openOrders: 1, openBuyQuantity: 2, openSellQuantity: 0)
        #expect(r.check(buy(1), book: pending, now: 0)?.limit == "max_position") // 1 + 2 + 1 = 4
        #expect(r.check(sell(1), book: pending, now: 0) == nil) // open buys do not count against a sell
    }

    @Test func maxNotionalUsesTheGivenPrice() {
        var r = RiskLimits(RiskLimitSettings(maxNotional: 10_000))
        #expect(r.check(buy(2, at: 5000), book: flat, now: 0) == nil)
        let past = r.check(buy(2, at: 5000.25), book: flat, now: 0)
        #expect(past?.limit == "max_notional")
        #expect(past?.detail == "2 x 5000.25 = 10000.5 is over the limit 10000")
        #expect(r.check(buy(1, at: nil), book: flat, now: 0)?.limit == "max_notional")
    }

    @Test func maxOrdersPerMinuteIsASlidingWindow() {
        var r = RiskLimits(RiskLimitSettings(maxOrdersPerMinute: 2))
        #expect(r.check(buy(1), book: flat, now: 0) == nil)
        r.recordAccepted(now: 0)
        #expect(r.check(buy(1), book: flat, now: 10) == nil)
        r.recordAccepted(now: 10)
        let past = r.check(buy(1), book: flat, now: 59.9)
        #expect(past?.limit == "max_orders_per_minute")
        #expect(past?.detail == "2 orders accepted in the last 60 s, limit 2")
        #expect(r.check(buy(1), book: flat, now: 60) == nil) // the first left the window
    }

    @Test func theFirstLimitInTheFixedOrderIsNamed() {
        var r = RiskLimits(RiskLimitSettings(maxOrderQuantity: 1, maxPosition: 0))
        #expect(r.check(buy(2), book: flat, now: 0)?.limit == "max_order_quantity")
    }
}
