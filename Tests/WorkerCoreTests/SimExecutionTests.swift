import Testing

@testable import WorkerCore

@Suite struct SimExecutionTests {
    @Test func clientOrderIDsEmbedMarketFenceAndSequence() {
        #expect(SimOrder.clientOrderID(market: "ES", fence: 7, sequence: 12) == "SIM-ES-F7-000012")
        var e = SimExecution(market: "ES", fence: 7)
        guard
            case .accepted(let a) = e.place(
                stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: nil, mode: .aggressive, now: 0, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        guard
            case .accepted(let b) = e.place(
                stream: "ES2", symbol: "MES", side: .buy, quantity: 1, limit: nil, mode: .aggressive, now: 0, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        #expect([a.clientOrderID, b.clientOrderID] == ["SIM-ES-F7-000001", "SIM-ES-F7-000002"])
    }

    @Test(arguments: [SystemMode.observeOnly, .shutdown])
    func ordersAreBlockedOutsideAggressive(_ mode: SystemMode) {
        var e = SimExecution(market: "ES", fence: 1)
        #expect(
            e.place(stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: nil, mode: mode, now: 0, nowUTC: "t")
                == .blocked(mode: mode))
        #expect(e.open.isEmpty)
        #expect(e.sequence == 0, "a blocked order takes no sequence number")
    }

    @Test func cancelsWorkInEveryMode() {
        var e = SimExecution(market: "ES", fence: 1)
        guard
            case .accepted(let o) = e.place(
                stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: 10, mode: .aggressive, now: 0, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        // The mode dropped to SHUTDOWN meanwhile; the cancel is not gated.
        let cancelled = e.cancel(o.clientOrderID)
        #expect(cancelled?.status == .cancelled)
        #expect(e.cancel(o.clientOrderID) == nil)
    }

    @Test func oneOpenEntryPerStream() {
        var e = SimExecution(market: "ES", fence: 1)
        _ = e.place(stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: 10, mode: .aggressive, now: 0, nowUTC: "t")
        let second = e.place(stream: "ES1", symbol: "MES", side: .sell, quantity: 1, limit: nil, mode: .aggressive, now: 1, nowUTC: "t")
        guard case .rejected(let why) = second else {
            Issue.record("expected a rejection, got \(second)")
            return
        }
        #expect(why.contains("stream ES1 already has open order SIM-ES-F1-000001"))
    }

    @Test func marketOrdersFillAtTheNextTickAndLimitsWhenCrossed() {
        var e = SimExecution(market: "ES", fence: 1)
        _ = e.place(stream: "ES1", symbol: "MES", side: .buy, quantity: 2, limit: nil, mode: .aggressive, now: 0, nowUTC: "t")
        _ = e.place(stream: "ES2", symbol: "MES", side: .sell, quantity: 1, limit: 5001, mode: .aggressive, now: 0, nowUTC: "t")
        let first = e.tick(price: 5000)
        #expect(first.map(\.stream) == ["ES1"])
        #expect(first.first?.fillPrice == 5000)
        #expect(first.first?.status == .filled)
        #expect(e.tick(price: 5000.75).isEmpty)
        #expect(e.tick(price: 5001).map(\.stream) == ["ES2"])
        #expect(e.positions == ["ES1": 2, "ES2": -1])
    }

    @Test func anUnfilledOrderTimesOutAfterSixtySecondsFromItsAcceptance() {
        var e = SimExecution(market: "ES", fence: 1)
        guard
            case .accepted(var o) = e.place(
                stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: 1, mode: .aggressive, now: 50, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        // Sent, not accepted yet: the timeout has not started.
        #expect(o.status == .pending)
        #expect(e.expire(now: 1000).isEmpty)
        o.status = .open
        o.placedAt = 100
        e.update(o)
        #expect(e.expire(now: 159.9).isEmpty)
        let expired = e.expire(now: 160)
        #expect(expired.map(\.status) == [.timedOut])
        #expect(e.open.isEmpty)
    }
}
