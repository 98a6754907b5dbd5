import Prometheus
import Testing
import Wire

@testable import Observability

/// The worker's metrics follow the events it journals.
@Suite struct WorkerMetricsTests {
    func event(_ type: EventType, _ data: JSONObject = [:], fence: Int64 = 3, seq: Int64? = 1) -> Event {
        Event(type: type.rawValue, market: "ES", runID: "ES-1", pid: 1, fence: fence, seq: seq, ts: "2026-11-21T07:15:00.5Z", data: data)
    }

    @Test func eventsSetCountersOrdersModeLatchAndHeartbeatTime() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(registry: registry, market: "ES")
        metrics.journaled(event(.systemModeChange, ["to": "AGGRESSIVE"]), fsyncNanos: 300_000, journalSize: 100)
        metrics.journaled(event(.orderPlaced), fsyncNanos: 300_000, journalSize: 200)
        metrics.journaled(event(.orderBlocked), fsyncNanos: 300_000, journalSize: 300)
        metrics.journaled(event(.failsafeTriggered), fsyncNanos: 300_000, journalSize: 400)
        metrics.journaled(event(.systemModeChange, ["to": "SHUTDOWN"]), fsyncNanos: 300_000, journalSize: 500)
        metrics.journaled(event(.heartbeat, seq: nil), fsyncNanos: 3_000_000, journalSize: 600)
        metrics.unackedEvents(5)
        let text = registry.emitToString()
        for line in [
            #"robot_events_emitted_total{market="ES",type="SYSTEM_MODE_CHANGE"} 2"#,
            #"robot_events_emitted_total{market="ES",type="ORDER_PLACED"} 1"#,
            #"robot_orders_total{market="ES",outcome="placed"} 1"#, #"robot_orders_total{market="ES",outcome="blocked"} 1"#,
            #"robot_orders_total{market="ES",outcome="filled"} 0"#,
            #"robot_worker_mode{market="ES",mode="SHUTDOWN"} 1.0"#, #"robot_worker_mode{market="ES",mode="AGGRESSIVE"} 0.0"#,
            #"robot_worker_failsafe_latched{market="ES"} 1.0"#, #"robot_journal_bytes{market="ES"} 600.0"#,
            #"robot_unacked_events{market="ES"} 5.0"#, #"robot_worker_fence{market="ES"} 3.0"#,
            #"robot_worker_last_heartbeat_timestamp_seconds{market="ES"} 1795245300.5"#,
            #"robot_journal_fsync_seconds_bucket{market="ES",le="0.0005"} 5"#, #"robot_journal_fsync_seconds_count{market="ES"} 6"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }
    }

    @Test func theOrderGateIsCountedByReasonWithItsRefusalsInForceAndFenceRaises() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(registry: registry, market: "ES")
        metrics.journaled(
            event(.orderRejected, ["reason": "IDENTITY_VIOLATION", "detail": "stream ES1: …"]), fsyncNanos: nil, journalSize: 1)
        metrics.journaled(event(.orderRejected, ["reason": "stream X is not one of ES's streams"]), fsyncNanos: nil, journalSize: 2)
        metrics.journaled(
            event(
                .orderGateStatus, ["refusing": true, "refusals": .strings(["ES1: IDENTITY_VIOLATION: x", "ES2: IDENTITY_VIOLATION: y"])]),
            fsyncNanos: nil, journalSize: 3)
        metrics.journaled(event(.fenceRaised, ["from": 1, "to": 3]), fsyncNanos: nil, journalSize: 4)
        let text = registry.emitToString()
        for line in [
            #"robot_orders_refused_total{market="ES",reason="IDENTITY_VIOLATION"} 1"#,
            #"robot_orders_refused_total{market="ES",reason="FENCE_UNCONFIRMED"} 0"#,
            #"robot_orders_total{market="ES",outcome="rejected"} 2"#,
            #"robot_worker_order_gate_refusals{market="ES"} 2.0"#,
            #"robot_worker_fence_raises_total{market="ES"} 1"#,
        ] {
            #expect(text.contains(line + "\n"), "\(line) in\n\(text)")
        }
    }

    @Test func theSupervisorsStateIsOneHotAndItsCountersStartAtZero() {
        let registry = PrometheusCollectorRegistry()
        let metrics = SupervisorMetrics(registry: registry)
        metrics.register(market: "ES")
        metrics.state(market: "ES", "RUNNING")
        metrics.restart(market: "ES", cause: .signal)
        let text = registry.emitToString()
        #expect(text.contains(#"robot_supervisor_worker_state{market="ES",state="RUNNING"} 1.0"#))
        #expect(text.contains(#"robot_supervisor_worker_state{market="ES",state="FATAL"} 0.0"#))
        #expect(text.contains(#"robot_supervisor_worker_up{market="ES"} 1.0"#))
        #expect(text.contains(#"robot_supervisor_restarts_total{market="ES",cause="signal"} 1"#))
        #expect(text.contains(#"robot_supervisor_restarts_total{market="ES",cause="exit"} 0"#))
        #expect(text.contains(#"robot_supervisor_watchdog_timeouts_total{market="ES"} 0"#))
    }

    @Test func theSupervisedVenueHasSeriesOfItsOwnWithNoMarketLabel() {
        let registry = PrometheusCollectorRegistry()
        let metrics = SupervisorMetrics(registry: registry)
        metrics.registerVenue()
        #expect(registry.emitToString().contains(#"robot_supervisor_venue_restarts_total{cause="signal"} 0"#))
        #expect(registry.emitToString().contains("robot_supervisor_venue_up 0.0"))
        metrics.venueState("RUNNING")
        metrics.venueRestart(cause: .signal)
        let text = registry.emitToString()
        #expect(text.contains(#"robot_supervisor_venue_state{state="RUNNING"} 1.0"#))
        #expect(text.contains(#"robot_supervisor_venue_state{state="STOPPED"} 0.0"#))
        #expect(!text.contains(#"robot_supervisor_venue_state{state="BLOCKED"}"#), "a venue is never BLOCKED")
        #expect(text.contains("robot_supervisor_venue_up 1.0"))
        #expect(text.contains(#"robot_supervisor_venue_restarts_total{cause="signal"} 1"#))
        #expect(!text.contains(#"market="paper-venue""#))
    }

    @Test func everyMetricNameFollowsTheConventions() {
        let names: [MetricName] = [
            .processResidentMemoryBytes, .processStartTimeSeconds, .eventsEmitted, .journalBytes, .journalFsyncSeconds,
            .journalWriteFailures, .unackedEvents, .orders, .workerMode, .workerFailsafeLatched, .workerHealthy, .workerFence,
            .workerIdentityPass, .workerFeedConnected, .workerLastHeartbeat, .supervisorRestarts, .supervisorWorkerState,
            .supervisorWorkerUp, .supervisorReadinessTimeouts, .supervisorWatchdogTimeouts, .eventsIngested, .eventsRejected,
            .eventDuplicates, .eventGaps, .staleFenceEvents, .heartbeatState, .lastHeartbeat, .identityPass, .mode, .fence,
            .openAlerts, .failsafeLatched, .ordersRefused, .workerOrderGateRefusals, .workerFenceRaises, .ordersRefusedNow,
            .supervisorVenueState, .supervisorVenueUp, .supervisorVenueRestarts,
        ]
        #expect(Set(names.map(\.name)).count == names.count, "no name twice")
        for n in names {
            #expect(n.name.hasPrefix("robot_"))
            #expect(!n.help.isEmpty)
            #expect(!n.name.hasSuffix("_age_seconds"), "times are timestamps, not ages")
        }
    }
}
