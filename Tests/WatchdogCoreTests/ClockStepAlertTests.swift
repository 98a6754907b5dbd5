import Testing
import Wire

@testable import WatchdogCore

/// A worker's `CLOCK_STEP` raises a warning: one per step, closed by an acknowledgement.
@Suite struct ClockStepAlertTests {
    static let start = WatchdogInstant(monotonicNanos: 1_000_000_000_000, wallMicros: 1_795_000_000_000_000)

    func event(_ type: EventType, seq: Int64, data: JSONObject = [:]) -> Event {
        Event(type: type.rawValue, market: "ES", runID: "ES-run-a", pid: 4242, fence: 1, seq: seq, ts: "2026-11-21T07:15:00.5Z", data: data)
    }

    func step(seq: Int64, delta: Double) -> Event {
        event(
            .clockStep, seq: seq, data: ["from": "2026-11-21T07:15:30.5Z", "to": "2026-11-21T07:15:00.5Z", "delta_seconds": .double(delta)])
    }

    @Test func aStepRaisesOneWarningThatAnAcknowledgementCloses() throws {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.configReloaded, seq: 1), now: Self.start)
        state.apply(step(seq: 2, delta: -30), now: Self.start)
        state.apply(event(.configReloaded, seq: 3), now: Self.start)
        let alerts = state.markets["ES"]!.alerts
        #expect(alerts.count == 1)
        let alert = try #require(alerts.first)
        #expect(alert.condition == .clockStep)
        #expect(alert.severity == .warning)
        #expect(alert.title == "ES: the worker's wall clock stepped back 30 s")
        #expect(alert.metadata["delta_seconds"] == "-30.0")
        #expect(alert.occurrences == 1)
        // A second step while it is open counts in it; after an acknowledgement the next one is new.
        state.apply(step(seq: 4, delta: 45), now: Self.start)
        #expect(state.markets["ES"]!.alerts.map(\.occurrences) == [2])
        let closed = state.acknowledge(market: "ES", alertID: nil, now: Self.start)
        #expect(closed.map(\.condition) == [.clockStep])
        #expect(state.markets["ES"]!.alerts.isEmpty)
        state.apply(step(seq: 5, delta: 2), now: Self.start)
        #expect(state.markets["ES"]!.alerts.map(\.condition) == [.clockStep])
        #expect(state.markets["ES"]!.alerts.first?.title.contains("forward 2 s") == true)
    }
}
