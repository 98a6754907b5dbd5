/// The `safety` section: health limits, fail-safe triggers and order handling (docs/CONFIG.md).
/// The defaults are the limits docs/robot-worker.md describes.
public struct SafetySettings: Sendable, Equatable {
    /// Unhealthy above this many errors per minute.
    public var maxErrorsPerMinute: Double = 10
    /// Unhealthy when market data is older than this.
    public var marketDataStaleSeconds: Double = 300
    /// Unhealthy when the last event-log write is older than this.
    public var eventLogStaleSeconds: Double = 600
    /// Fail-safe: market data stalled longer than this.
    public var marketDataStalledSeconds: Double = 600
    /// Fail-safe: event-log writes failing for longer than this.
    public var eventLogFailingSeconds: Double = 900
    /// Fail-safe: no snapshot written for longer than this (25 h).
    public var noSnapshotSeconds: Double = 90_000
    /// Fail-safe: unhealthy without a break for this long.
    public var healthFailingSeconds: Double = 600
    /// How often health is evaluated and `HEALTH_STATUS` may be emitted.
    public var healthIntervalSeconds: Double = 10
    /// How often the worker's snapshot is rewritten (also after every change of mode, latch or order).
    public var snapshotIntervalSeconds: Double = 3600
    /// A SIM order not filled within this is cancelled (`ORDER_TIMEOUT`).
    public var orderTimeoutSeconds: Double = 60
    /// A stream that violates an identity invariant places no new orders (`IDENTITY_VIOLATION`);
    /// a market-wide violation stops every new order (docs/robot-worker.md, "Order gates").
    public var identityGatesOrders = true

    public init() {}

    static let keys = [
        "max_errors_per_minute", "market_data_stale_seconds", "event_log_stale_seconds", "market_data_stalled_seconds",
        "event_log_failing_seconds", "no_snapshot_seconds", "health_failing_seconds", "health_interval_seconds",
        "snapshot_interval_seconds", "order_timeout_seconds", "identity_gates_orders",
    ]

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> SafetySettings {
        var s = SafetySettings()
        guard var r = try top.optionalObject("safety") else { return s }
        let long = 30 * 86_400.0
        s.maxErrorsPerMinute = try r.number("max_errors_per_minute", default: s.maxErrorsPerMinute, in: 0...1e6)
        s.marketDataStaleSeconds = try r.number("market_data_stale_seconds", default: s.marketDataStaleSeconds, in: 0.01...long)
        s.eventLogStaleSeconds = try r.number("event_log_stale_seconds", default: s.eventLogStaleSeconds, in: 0.01...long)
        s.marketDataStalledSeconds = try r.number("market_data_stalled_seconds", default: s.marketDataStalledSeconds, in: 0.01...long)
        s.eventLogFailingSeconds = try r.number("event_log_failing_seconds", default: s.eventLogFailingSeconds, in: 0.01...long)
        s.noSnapshotSeconds = try r.number("no_snapshot_seconds", default: s.noSnapshotSeconds, in: 0.01...long)
        s.healthFailingSeconds = try r.number("health_failing_seconds", default: s.healthFailingSeconds, in: 0.01...long)
        s.healthIntervalSeconds = try r.number("health_interval_seconds", default: s.healthIntervalSeconds, in: 0.01...86_400)
        s.snapshotIntervalSeconds = try r.number("snapshot_interval_seconds", default: s.snapshotIntervalSeconds, in: 0.01...long)
        s.orderTimeoutSeconds = try r.number("order_timeout_seconds", default: s.orderTimeoutSeconds, in: 0.01...86_400)
        s.identityGatesOrders = try r.bool("identity_gates_orders", default: s.identityGatesOrders)
        if s.marketDataStalledSeconds < s.marketDataStaleSeconds {
            throw r.error(
                "market_data_stalled_seconds", .double(s.marketDataStalledSeconds),
                "expected at least market_data_stale_seconds (\(ConfigReader.format(s.marketDataStaleSeconds))): a feed is unhealthy before it trips the fail-safe")
        }
        try r.rejectUnknownKeys(keys)
        return s
    }
}
