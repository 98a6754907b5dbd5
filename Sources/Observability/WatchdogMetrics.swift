import Prometheus

/// The metrics the `watchdog` will export (docs/METRICS.md, "watchdog"): its view of each market,
/// built from the events it ingests. The names are fixed here ahead of the watchdog itself, so
/// dashboards and alert rules can be written now; instrumenting the watchdog is one call per fact
/// from its reactor thread, plus `MetricsServer.start` with `watchdog_port`.
///
/// Every method takes the canonical `market`. `register` creates a market's series at their
/// starting values when the watchdog first hears of it.
public final class WatchdogMetrics: Sendable {
    /// `robot_heartbeat_state` values.
    public enum HeartbeatState: Int, Sendable {
        case ok = 0
        case late = 1
        case lost = 2
    }

    public static let severities = ["CRITICAL", "WARNING", "INFO"]
    public static let modes = WorkerMetrics.modes

    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Creates the market's counters at 0 and its open alerts at 0 per severity.
    public func register(market: String) {
        let m = [("market", market)]
        _ = registry.counter(.eventsIngested, m)
        _ = registry.counter(.eventDuplicates, m)
        _ = registry.counter(.eventGaps, m)
        _ = registry.counter(.staleFenceEvents, m)
        for severity in Self.severities { _ = registry.gauge(.openAlerts, m + [("severity", severity)]) }
        _ = registry.gauge(.failsafeLatched, m)
    }

    /// `count` events accepted and applied.
    public func ingested(market: String, count: Int64 = 1) { registry.counter(.eventsIngested, [("market", market)]).increment(by: count) }

    /// A line rejected with `reason` (a `RejectionReason` raw value); `market` is the connection's
    /// bound market, or `unknown` before a hello.
    public func rejected(market: String, reason: String, count: Int64 = 1) {
        registry.counter(.eventsRejected, [("reason", reason), ("market", market)]).increment(by: count)
    }

    public func duplicate(market: String, count: Int64 = 1) {
        registry.counter(.eventDuplicates, [("market", market)]).increment(by: count)
    }

    /// `missing` events were skipped in a run's sequence.
    public func gap(market: String, missing: Int = 1) {
        registry.counter(.eventGaps, [("market", market)]).increment(by: Int64(missing))
    }

    public func staleFence(market: String, count: Int64 = 1) {
        registry.counter(.staleFenceEvents, [("market", market)]).increment(by: count)
    }

    public func heartbeat(market: String, state: HeartbeatState) {
        registry.gauge(.heartbeatState, [("market", market)]).set(to: Double(state.rawValue))
    }

    /// The last heartbeat's time in Unix seconds.
    public func lastHeartbeat(market: String, unixSeconds: Double) {
        registry.gauge(.lastHeartbeat, [("market", market)]).set(to: unixSeconds)
    }

    /// Refusals in force in the market's order gate.
    public func ordersRefused(market: String, _ count: Int) {
        registry.gauge(.ordersRefusedNow, [("market", market)]).set(to: Double(count))
    }

    public func identity(market: String, pass: Bool) { registry.gauge(.identityPass, [("market", market)]).set(to: pass ? 1 : 0) }

    public func mode(market: String, _ current: String) {
        for mode in Self.modes { registry.gauge(.mode, [("market", market), ("mode", mode)]).set(to: mode == current ? 1 : 0) }
    }

    public func fence(market: String, _ fence: Int64) { registry.gauge(.fence, [("market", market)]).set(to: Double(fence)) }

    /// The number of open (unacknowledged) alerts of one severity.
    public func openAlerts(market: String, severity: String, count: Int) {
        registry.gauge(.openAlerts, [("market", market), ("severity", severity)]).set(to: Double(count))
    }

    public func failsafeLatched(market: String, _ latched: Bool) {
        registry.gauge(.failsafeLatched, [("market", market)]).set(to: latched ? 1 : 0)
    }
}
