import Prometheus

/// The watchdog's alert delivery metrics (docs/METRICS.md, "watchdog"), one series per
/// destination (`sink`: `alertmanager`, `webhook`). Updated from the delivery thread; the registry
/// is thread-safe.
public final class AlertingMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Creates the destination's series at 0.
    public func register(sink: String) {
        let s = [("sink", sink)]
        _ = registry.gauge(.alertQueueLength, s)
        _ = registry.counter(.alertNoticesSent, s)
        _ = registry.counter(.alertNoticesFailed, s)
        _ = registry.counter(.alertNoticesDropped, s)
    }

    public func queueLength(sink: String, _ length: Int) { registry.gauge(.alertQueueLength, [("sink", sink)]).set(to: Double(length)) }
    public func sent(sink: String, count: Int = 1) { registry.counter(.alertNoticesSent, [("sink", sink)]).increment(by: Int64(count)) }
    public func failed(sink: String) { registry.counter(.alertNoticesFailed, [("sink", sink)]).increment() }
    public func dropped(sink: String, count: Int) { registry.counter(.alertNoticesDropped, [("sink", sink)]).increment(by: Int64(count)) }
}
