import Foundation
import Testing
import Wire

@testable import WatchdogCore

/// The watchdog's view of a worker's safety (issue 6): latches, their alerts, health and open
/// orders, fed with events and an injected clock.
@Suite struct WatchdogSafetyStateTests {
    static let start = WatchdogStateTests.start

    func event(_ type: EventType, seq: Int64, data: JSONObject, run: String = "ES-run-a") -> Event {
        Event(type: type.rawValue, market: "ES", runID: run, pid: 4242, fence: 1, seq: seq, ts: "2026-11-21T07:15:00.5Z", data: data)
    }

    func state() -> WatchdogState { WatchdogState(configuredMarkets: ["ES"], now: Self.start) }

    static let latch: JSONValue = .object([
        "trigger": "MARKET_DATA_STALLED", "reason": "no market data for 601 s", "latched_at_utc": "2026-11-21T07:15:00.4Z",
        "run_id": "ES-run-a",
    ])

    @Test func aFailSafeRaisesOneCriticalAlertAndTheLatchUntilTheWorkerClearsIt() {
        var s = state()
        s.apply(
            event(.failsafeTriggered, seq: 1, data: ["trigger": "MARKET_DATA_STALLED", "reason": "no market data for 601 s"]),
            now: Self.start)
        s.apply(
            event(.systemModeChange, seq: 2, data: ["from": "AGGRESSIVE", "to": "SHUTDOWN", "reason": "fail-safe", "latch": Self.latch]),
            now: Self.start)
        // The same trigger again (a restarted, still latched worker) does not raise a second alert.
        s.apply(event(.failsafeTriggered, seq: 3, data: ["trigger": "MARKET_DATA_STALLED", "reason": "again"]), now: Self.start)
        var es = s.markets["ES"]!
        #expect(es.alerts.map(\.condition) == [.failsafeLatched])
        #expect(es.alerts.first?.severity == .critical)
        #expect(es.alerts.first?.occurrences == 2)
        #expect(es.mode == "SHUTDOWN")
        #expect(es.latch?.trigger == "MARKET_DATA_STALLED")
        #expect(!es.isHealthy)
        // An operator's ack marks it acknowledged; it stays open while the latch holds.
        #expect(s.acknowledge(market: "ES", alertID: nil, now: Self.start).count == 1)
        #expect(s.markets["ES"]!.alerts.first?.acknowledged == true)
        s.apply(
            event(.failsafeCleared, seq: 4, data: ["trigger": "MARKET_DATA_STALLED", "reason": "x", "cleared_by": "uid 0 (pid 9)"]),
            now: Self.start)
        s.apply(
            event(.systemModeChange, seq: 5, data: ["from": "SHUTDOWN", "to": "AGGRESSIVE", "reason": "cleared", "latch": .null]),
            now: Self.start)
        es = s.markets["ES"]!
        #expect(es.alerts.isEmpty)
        #expect(es.latch == nil)
        #expect(es.lastLatchCleared?.by == "uid 0 (pid 9)")
        #expect(es.mode == "AGGRESSIVE")
        #expect(s.alertHistory.contains { $0.condition == .failsafeLatched && $0.resolvedAtUTC != nil })
    }

    @Test func aDamagedJournalIsOneIntegrityAlertAndAnUnreachableFeedAStartupChecksAlert() {
        var s = state()
        let checks: JSONValue = [
            .object(["name": "event_log_integrity", "passed": false, "detail": "line 3: duplicate event ID ES-x/2"]),
            .object(["name": "feed_reachable", "passed": true, "detail": "synthetic"]),
        ]
        s.apply(event(.startupChecks, seq: 1, data: ["passed": false, "checks": checks]), now: Self.start)
        #expect(s.markets["ES"]!.alerts.map(\.condition) == [.integrityViolation])
        #expect(s.markets["ES"]!.alerts.first?.message.contains("duplicate event ID") == true)

        var t = state()
        let feed: JSONValue = [.object(["name": "feed_reachable", "passed": false, "detail": "nothing serves socket /x"])]
        t.apply(event(.startupChecks, seq: 1, data: ["passed": false, "checks": feed]), now: Self.start)
        #expect(t.markets["ES"]!.alerts.map(\.condition) == [.startupChecksFailed])
        // Passing checks raise nothing.
        var u = state()
        u.apply(event(.startupChecks, seq: 1, data: ["passed": true, "checks": []]), now: Self.start)
        #expect(u.markets["ES"]!.alerts.isEmpty)
    }

    @Test func blockedOrdersAndRoutineModeChangesRaiseNoAlertAndOpenOrdersAreTracked() {
        var s = state()
        s.apply(
            event(
                .systemModeChange, seq: 1,
                data: ["from": "OBSERVE_ONLY", "to": "AGGRESSIVE", "reason": "startup checks passed", "latch": .null]), now: Self.start)
        s.apply(event(.orderBlocked, seq: 2, data: ["stream": "ES1", "mode": "OBSERVE_ONLY"]), now: Self.start)
        s.apply(
            event(
                .orderPlaced, seq: 3,
                data: [
                    "client_order_id": "SIM-ES-F1-000001", "stream": "ES1", "symbol": "MES", "side": "BUY", "quantity": 2, "limit": .null,
                ]),
            now: Self.start)
        s.apply(
            event(
                .orderPlaced, seq: 4,
                data: [
                    "client_order_id": "SIM-ES-F1-000002", "stream": "ES2", "symbol": "MES", "side": "SELL", "quantity": 1,
                    "limit": .double(5001),
                ]),
            now: Self.start)
        #expect(s.markets["ES"]!.openOrders.map(\.clientOrderID) == ["SIM-ES-F1-000001", "SIM-ES-F1-000002"])
        s.apply(event(.orderFilled, seq: 5, data: ["client_order_id": "SIM-ES-F1-000001", "fill_price": .double(5000)]), now: Self.start)
        s.apply(event(.orderTimeout, seq: 6, data: ["client_order_id": "SIM-ES-F1-000002"]), now: Self.start)
        s.apply(
            event(.healthStatus, seq: 7, data: ["healthy": false, "reasons": ["market data is 400 s old (limit 300 s)"]]), now: Self.start)
        let es = s.markets["ES"]!
        #expect(es.openOrders.isEmpty)
        #expect(es.alerts.isEmpty, "\(es.alerts.map(\.condition))")
        #expect(es.health?.healthy == false)
        #expect(es.health?.reasons == ["market data is 400 s old (limit 300 s)"])
    }

    @Test func theTableShowsTheLatchHealthAndOrders() {
        var s = state()
        s.apply(
            event(.systemModeChange, seq: 1, data: ["from": "AGGRESSIVE", "to": "SHUTDOWN", "reason": "fail-safe", "latch": Self.latch]),
            now: Self.start)
        s.apply(
            event(
                .orderPlaced, seq: 2,
                data: [
                    "client_order_id": "SIM-ES-F1-000001", "stream": "ES1", "symbol": "MES", "side": "BUY", "quantity": 1,
                    "limit": .double(4990),
                ]),
            now: Self.start)
        let report = StatusReport(
            generatedAtUTC: "t", watchdogPID: 1, configuredMarkets: ["ES"], markets: s.markets, rejected: [:], connections: 0,
            alertHistory: [])
        let table = StatusTable(colour: false).render(report)
        #expect(table.contains("SHUTDOWN (latched)"))
        #expect(table.contains("latch: MARKET_DATA_STALLED: no market data for 601 s"))
        #expect(table.contains("order: SIM-ES-F1-000001 BUY 1 MES on ES1 limit 4990.0"))
    }
}
