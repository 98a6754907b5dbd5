import Testing
import Wire

@testable import WatchdogCore

/// The watchdog keeps why a worker refuses orders, and alerts on a raised fence (issue 21).
@Suite struct OrderGateStateTests {
    let t = WatchdogStateTests()

    @Test func orderGateStatusIsShownAndAFenceRaiseIsACriticalAlert() {
        var state = WatchdogState()
        state.apply(
            t.event(.orderGateStatus, fence: 3, seq: 1, data: ["refusing": true, "refusals": .strings(["ES1: IDENTITY_VIOLATION: x"])]),
            now: WatchdogStateTests.start)
        #expect(state.markets["ES"]?.ordersRefused == ["ES1: IDENTITY_VIOLATION: x"])
        state.apply(
            t.event(
                .fenceRaised, fence: 3, seq: 2,
                data: ["from": 1, "to": 3, "high_water": 2, "source": "watchdog", "reason": "the lock folder lost its fences: …"]),
            now: WatchdogStateTests.start)
        let m = state.markets["ES"]!
        let alert = m.alerts.first { $0.condition == .fenceRegression }
        #expect(alert?.severity == .critical)
        #expect(alert?.title.contains("lost its fences") == true)
        #expect(m.lastFenceRaise?.contains("lost its fences") == true)
        let table = StatusTable(colour: false).render(
            StatusReport(
                generatedAtUTC: "t", watchdogPID: 1, configuredMarkets: ["ES"], markets: state.markets, rejected: [:], connections: 0,
                alertHistory: []))
        #expect(table.contains("orders refused: ES1: IDENTITY_VIOLATION: x"), "\(table)")
        state.apply(
            t.event(.orderGateStatus, fence: 3, seq: 3, data: ["refusing": false, "refusals": .strings([])]), now: WatchdogStateTests.start)
        #expect(state.markets["ES"]?.ordersRefused == [])
    }
}
