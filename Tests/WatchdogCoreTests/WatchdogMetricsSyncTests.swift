import Observability
import Prometheus
import Testing
import Wire

@testable import WatchdogCore

/// The watchdog's metrics follow its state at each sync, setting only the gauges whose value
/// changed: what a scrape reads is the same as if every gauge were set every time.
@Suite struct WatchdogMetricsSyncTests {
    let t = WatchdogStateTests()
    static let start = WatchdogStateTests.start

    @Test func eachSyncShowsTheStateAndAnUnchangedStateLeavesTheSameExposition() {
        let registry = PrometheusCollectorRegistry()
        let sync = WatchdogMetricsSync(metrics: WatchdogMetrics(registry: registry))
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(t.event(.lockAcquired, fence: 3, seq: 1), now: Self.start)
        state.apply(t.event(.identityInvariantsStatus, fence: 3, seq: 2, data: ["pass": true, "violations": []]), now: Self.start)
        state.apply(t.heartbeat(fence: 3, ts: "2026-11-21T07:15:01.000000Z"), now: Self.start)
        sync.sync(state)
        let first = registry.emitToString()
        for line in [
            #"robot_heartbeat_state{market="ES"} 0.0"#, #"robot_identity_pass{market="ES"} 1.0"#, #"robot_fence{market="ES"} 3.0"#,
            #"robot_last_heartbeat_timestamp_seconds{market="ES"} 1795245301.0"#,
            #"robot_open_alerts{market="ES",severity="CRITICAL"} 0.0"#, #"robot_events_ingested_total{market="ES"} 2"#,
            #"robot_mode{market="ES",mode="AGGRESSIVE"} 1.0"#,
        ] {
            #expect(first.contains(line + "\n"), "\(line) in\n\(first)")
        }
        sync.sync(state)
        #expect(registry.emitToString() == first)

        // The heartbeat is lost: its state and the CRITICAL alert show at the next sync.
        state.tick(now: Self.start.adding(seconds: 2), policy: WatchdogStateTests.policy)
        sync.sync(state)
        var text = registry.emitToString()
        for line in [#"robot_heartbeat_state{market="ES"} 2.0"#, #"robot_open_alerts{market="ES",severity="CRITICAL"} 1.0"#] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }

        // A heartbeat comes back: the state, the time and the resolved alert follow.
        state.apply(t.heartbeat(fence: 3, ts: "2026-11-21T07:15:09.000000Z"), now: Self.start.adding(seconds: 2.1))
        sync.sync(state)
        text = registry.emitToString()
        for line in [
            #"robot_heartbeat_state{market="ES"} 0.0"#, #"robot_open_alerts{market="ES",severity="CRITICAL"} 0.0"#,
            #"robot_last_heartbeat_timestamp_seconds{market="ES"} 1795245309.0"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }
    }
}
