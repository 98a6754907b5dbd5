import RobotConfig

/// The pre-trade risk limits of a strategy's orders (`markets.M.strategy.limits`, docs/STRATEGY.md,
/// "The gate"): each limit is inclusive (an order exactly at it passes, one past it is refused),
/// and a refusal names the limit and the figures.
///
/// Pure: the order, the market's state and the time are passed in; the only state it keeps is
/// when it accepted recent orders (for `max_orders_per_minute`).
public struct RiskLimits: Sendable, Equatable {
    /// An order as the limits see it. `signedQuantity` is positive for a buy.
    public struct Order: Sendable, Equatable {
        public var quantity: Int
        public var isBuy: Bool
        /// The limit price, else the last tick's; nil when neither is known.
        public var price: Double?
        public init(quantity: Int, isBuy: Bool, price: Double?) {
            self.quantity = quantity
            self.isBuy = isBuy
            self.price = price
        }
        var signedQuantity: Int { isBuy ? quantity : -quantity }
    }

    /// What the market holds when the order arrives.
    public struct Book: Sendable, Equatable {
        /// Net filled position of the market (all streams, buys positive).
        public var position: Int
        /// Open orders: how many, and their net signed quantity.
        public var openOrders: Int
        public var openBuyQuantity: Int
        public var openSellQuantity: Int
        public init(position: Int, openOrders: Int, openBuyQuantity: Int, openSellQuantity: Int) {
            self.position = position
            self.openOrders = openOrders
            self.openBuyQuantity = openBuyQuantity
            self.openSellQuantity = openSellQuantity
        }
    }

    /// A refusal: `limit` is the configuration key, `detail` the figures.
    public struct Breach: Sendable, Equatable, Error {
        public var limit: String
        public var detail: String
        public var line: String { "\(limit): \(detail)" }
    }

    public let settings: RiskLimitSettings
    /// Monotonic seconds of the orders accepted in the last minute, oldest first.
    public private(set) var accepted: [Double] = []
    static let window = 60.0

    public init(_ settings: RiskLimitSettings) { self.settings = settings }

    /// The first limit `order` breaches, checked in a fixed order; nil when it passes them all.
    public mutating func check(_ order: Order, book: Book, now: Double) -> Breach? {
        let s = settings
        if let max = s.maxOrderQuantity, order.quantity > max {
            return Breach(limit: "max_order_quantity", detail: "quantity \(order.quantity) is over the limit \(max)")
        }
        if let max = s.maxOpenOrders, book.openOrders + 1 > max {
            return Breach(limit: "max_open_orders", detail: "\(book.openOrders) open orders, limit \(max): no room for another")
        }
        if let max = s.maxPosition {
            // The worst case: every open order on this side and this one filled.
            let sameSide = order.isBuy ? book.openBuyQuantity : -book.openSellQuantity
            let projected = book.position + sameSide + order.signedQuantity
            if abs(projected) > max {
                return Breach(
                    limit: "max_position",
                    detail: "position \(book.position), open \(sameSide >= 0 ? "+" : "")\(sameSide) on this side, "
                        + "order \(order.signedQuantity >= 0 ? "+" : "")\(order.signedQuantity): \(projected) would be over the limit \(max)"
                )
            }
        }
        if let max = s.maxNotional {
            guard let price = order.price else {
                return Breach(
                    limit: "max_notional",
                    detail: "no price yet (no limit price, no tick) to value the order against the limit \(format(max))")
            }
            let notional = Double(order.quantity) * price
            if notional > max {
                return Breach(
                    limit: "max_notional",
                    detail: "\(order.quantity) x \(format(price)) = \(format(notional)) is over the limit \(format(max))")
            }
        }
        if let max = s.maxOrdersPerMinute {
            expire(now: now)
            if accepted.count + 1 > max {
                return Breach(limit: "max_orders_per_minute", detail: "\(accepted.count) orders accepted in the last 60 s, limit \(max)")
            }
        }
        return nil
    }

    /// Counts an order the gate accepted (after `check` passed and the order went out).
    public mutating func recordAccepted(now: Double) {
        guard settings.maxOrdersPerMinute != nil else { return }
        expire(now: now)
        accepted.append(now)
    }

    private mutating func expire(now: Double) {
        let cut = accepted.firstIndex { now - $0 < Self.window } ?? accepted.count
        if cut > 0 { accepted.removeFirst(cut) }
    }

    private func format(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}
