import Wire

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
    /// A worker with no answer (welcome or ack) from the watchdog for this long holds
    /// `OBSERVE_ONLY` (`WATCHDOG_UNREACHABLE`) until the watchdog answers again. Default: the
    /// configuration's `timings.heartbeat_lost_seconds` (120 s in the embedded default), raised to
    /// twice `health_interval_seconds` when that is longer (see `checkUnobserved`).
    public var unobservedSeconds: Double = 120
    /// True turns the unobserved rule off: the worker trades with no watchdog (a warning at every start).
    public var tradeWithoutWatchdog = false
    /// A stream that violates an identity invariant places no new orders (`IDENTITY_VIOLATION`);
    /// a market-wide violation stops every new order (docs/robot-worker.md, "Order gates").
    public var identityGatesOrders = true
    /// Unhealthy while an order sent to the venue has had no answer for longer than this
    /// (the execution queue is `STALLED`).
    public var queueStallSeconds: Double = 30

    public init() {}

    static let keys = [
        "max_errors_per_minute", "market_data_stale_seconds", "event_log_stale_seconds", "market_data_stalled_seconds",
        "event_log_failing_seconds", "no_snapshot_seconds", "health_failing_seconds", "health_interval_seconds",
        "snapshot_interval_seconds", "order_timeout_seconds", "unobserved_seconds", "trade_without_watchdog", "identity_gates_orders",
        "queue_stall_seconds",
    ]

    /// `heartbeatLost` is `timings.heartbeat_lost_seconds`, the default of `unobserved_seconds`.
    static func parse(_ top: inout ConfigReader, heartbeatLost: Double) throws(ConfigError) -> SafetySettings {
        var s = SafetySettings()
        s.unobservedSeconds = max(heartbeatLost, 2 * s.healthIntervalSeconds)
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
        s.queueStallSeconds = try r.number("queue_stall_seconds", default: s.queueStallSeconds, in: 0.01...86_400)
        if s.marketDataStalledSeconds < s.marketDataStaleSeconds {
            throw r.error(
                "market_data_stalled_seconds", .double(s.marketDataStalledSeconds),
                "expected at least market_data_stale_seconds (\(ConfigReader.format(s.marketDataStaleSeconds))): a feed is unhealthy before it trips the fail-safe"
            )
        }
        s.unobservedSeconds = try r.number("unobserved_seconds", default: max(heartbeatLost, 2 * s.healthIntervalSeconds), in: 0.01...long)
        if let v = r.optional("trade_without_watchdog") {
            guard case .bool(let b) = v else { throw r.error("trade_without_watchdog", v, "expected true or false") }
            s.tradeWithoutWatchdog = b
        }
        try checkUnobserved(s, r: r)
        try r.rejectUnknownKeys(keys)
        return s
    }

    /// The watchdog acks events, not heartbeats: in a quiet period the `HEALTH_STATUS` emitted every
    /// `health_interval_seconds` is what it answers, so the unobserved limit must leave room for two
    /// (the default is raised to that; an explicit shorter value is refused).
    private static func checkUnobserved(_ s: SafetySettings, r: ConfigReader) throws(ConfigError) {
        guard !s.tradeWithoutWatchdog, s.unobservedSeconds < 2 * s.healthIntervalSeconds else { return }
        throw r.error(
            "unobserved_seconds", .double(s.unobservedSeconds),
            "expected at least twice health_interval_seconds (\(ConfigReader.format(2 * s.healthIntervalSeconds))): "
                + "the watchdog answers the HEALTH_STATUS events of a quiet worker, so a shorter limit would report a live watchdog unreachable"
        )
    }
}
