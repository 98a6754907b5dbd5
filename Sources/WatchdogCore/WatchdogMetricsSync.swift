import Observability
import Wire

/// Copies the watchdog's state into its Prometheus series (docs/METRICS.md, "watchdog") from the
/// reactor thread, on a timer: the state machine stays free of metrics, and a scrape (on the
/// metrics server's own thread) reads values at most one sync old.
///
/// Counters advance by what the state counted since the last sync, so they only go up, including
/// after a restart from the snapshot (which starts them at the snapshot's totals).
final class WatchdogMetricsSync {
    private let metrics: WatchdogMetrics
    private var synced: [String: WatchedMarket.Counters] = [:]
    private var syncedUnknownRejections: [String: Int64] = [:]

    init(metrics: WatchdogMetrics) { self.metrics = metrics }

    func sync(_ state: WatchdogState) {
        var rejectedByKnownMarkets: [String: Int64] = [:]
        for (name, m) in state.markets {
            let before =
                synced[name]
                ?? {
                    metrics.register(market: name)
                    return WatchedMarket.Counters()
                }()
            if m.counters.events > before.events { metrics.ingested(market: name, count: m.counters.events - before.events) }
            if m.counters.duplicates > before.duplicates {
                metrics.duplicate(market: name, count: m.counters.duplicates - before.duplicates)
            }
            if m.counters.gaps > before.gaps { metrics.gap(market: name, missing: Int(m.counters.gaps - before.gaps)) }
            if m.counters.staleFence > before.staleFence {
                metrics.staleFence(market: name, count: m.counters.staleFence - before.staleFence)
            }
            for (reason, count) in m.counters.rejected {
                rejectedByKnownMarkets[reason, default: 0] += count
                let old = before.rejected[reason] ?? 0
                if count > old { metrics.rejected(market: name, reason: reason, count: count - old) }
            }
            synced[name] = m.counters
            metrics.heartbeat(market: name, state: Self.heartbeat(m.heartbeatState))
            if let ts = m.lastHeartbeatUTC, let micros = UTCTimestamp.parse(ts) {
                metrics.lastHeartbeat(market: name, unixSeconds: Double(micros) / 1e6)
            }
            if let pass = m.lastIdentityInvariantsPass { metrics.identity(market: name, pass: pass) }
            if let refused = m.ordersRefused { metrics.ordersRefused(market: name, refused.count) }
            if let mode = m.mode { metrics.mode(market: name, mode) }
            metrics.fence(market: name, m.fenceHighWater)
            let open = (m.alerts + m.inhibitedAlerts).filter { !$0.acknowledged }
            for severity in WatchdogMetrics.severities {
                metrics.openAlerts(market: name, severity: severity, count: open.filter { $0.severity.rawValue == severity }.count)
            }
            metrics.failsafeLatched(market: name, m.latch != nil)
        }
        // Rejections on connections bound to no market yet (before a hello) count under `unknown`.
        for (reason, total) in state.rejected {
            let unknown = total - (rejectedByKnownMarkets[reason] ?? 0)
            let old = syncedUnknownRejections[reason] ?? 0
            if unknown > old { metrics.rejected(market: "unknown", reason: reason, count: unknown - old) }
            syncedUnknownRejections[reason] = max(old, unknown)
        }
    }

    static func heartbeat(_ state: HeartbeatState) -> WatchdogMetrics.HeartbeatState {
        switch state {
        case .ok: return .ok
        case .late: return .late
        case .lost: return .lost
        }
    }
}
