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
    /// The gauge values last set, per market.
    private var exported: [String: Exported] = [:]

    /// A market's gauge values, as `sync` sets them.
    struct Exported: Equatable {
        var heartbeat: WatchdogMetrics.HeartbeatState
        var lastHeartbeatUTC: String?
        var identity: Bool?
        var ordersRefused: Int?
        var mode: String?
        var fence: Int64
        /// Open, unacknowledged alerts per severity, in `WatchdogMetrics.severities` order.
        var openAlerts: [Int]
        var latched: Bool

        init(_ m: WatchedMarket) {
            heartbeat = WatchdogMetricsSync.heartbeat(m.heartbeatState)
            lastHeartbeatUTC = m.lastHeartbeatUTC
            identity = m.lastIdentityInvariantsPass
            ordersRefused = m.ordersRefused?.count
            mode = m.mode
            fence = m.fenceHighWater
            openAlerts = WatchdogMetrics.severities.map { severity in
                m.alerts.count { !$0.acknowledged && $0.severity.rawValue == severity }
                    + m.inhibitedAlerts.count { !$0.acknowledged && $0.severity.rawValue == severity }
            }
            latched = m.latch != nil
        }
    }

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
            // The gauges: only those whose value changed since the last sync are set (each set is a
            // registry lookup; at rest a heartbeat changes one of them per market).
            let now = Exported(m)
            let was = exported[name]
            exported[name] = now
            if was?.heartbeat != now.heartbeat { metrics.heartbeat(market: name, state: now.heartbeat) }
            if was?.lastHeartbeatUTC != now.lastHeartbeatUTC, let ts = now.lastHeartbeatUTC, let micros = UTCTimestamp.parse(ts) {
                metrics.lastHeartbeat(market: name, unixSeconds: Double(micros) / 1e6)
            }
            if was?.identity != now.identity, let pass = now.identity { metrics.identity(market: name, pass: pass) }
            if was?.ordersRefused != now.ordersRefused, let refused = now.ordersRefused { metrics.ordersRefused(market: name, refused) }
            if was?.mode != now.mode, let mode = now.mode { metrics.mode(market: name, mode) }
            if was?.fence != now.fence { metrics.fence(market: name, now.fence) }
            if was?.openAlerts != now.openAlerts {
                for (i, severity) in WatchdogMetrics.severities.enumerated() {
                    metrics.openAlerts(market: name, severity: severity, count: now.openAlerts[i])
                }
            }
            if was?.latched != now.latched { metrics.failsafeLatched(market: name, now.latched) }
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
