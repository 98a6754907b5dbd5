import Prometheus
import Wire

/// The metrics of one `robot-worker` (docs/METRICS.md, "robot-worker"), all labelled with its
/// canonical `market`.
///
/// Everything is derived from the events the worker journals (`journaled`), so the numbers agree
/// with the journal by construction: `robot_events_emitted_total{type}` counts journal lines,
/// order events count `robot_orders_total{outcome}`, `SYSTEM_MODE_CHANGE` sets the mode, and so
/// on. Call it on the reactor thread after each successful append; it only stores numbers (no I/O,
/// no allocation beyond label lookups made at start).
public final class WorkerMetrics: Sendable {
    /// Journal `fdatasync` buckets, 100 µs to 2.5 s.
    public static let fsyncBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500),
    ]

    /// `robot_orders_total` outcome label of each order event.
    public static let orderOutcomes: [EventType: String] = [
        .orderPlaced: "placed", .orderBlocked: "blocked", .orderRejected: "rejected", .orderFilled: "filled",
        .orderCancelled: "cancelled", .orderTimeout: "timed_out",
    ]

    public static let modes = ["AGGRESSIVE", "OBSERVE_ONLY", "SHUTDOWN"]
    /// `robot_orders_refused_total` reasons (`OrderGate`'s).
    public static let refusalReasons = ["IDENTITY_VIOLATION", "FENCE_UNCONFIRMED", "FENCE_REGRESSION"]

    public let market: String
    private let emitted: [String: Counter]
    private let orders: [EventType: Counter]
    private let modeGauges: [String: Gauge]
    private let journalBytes: Gauge
    private let fsync: DurationHistogram
    private let writeFailures: Counter
    private let unacked: Gauge
    private let latched: Gauge
    private let healthy: Gauge
    private let fence: Gauge
    private let identityPass: Gauge
    private let feedConnected: Gauge
    private let refused: [String: Counter]
    private let gateRefusals: Gauge
    private let fenceRaises: Counter
    private let lastHeartbeat: Gauge
    private let watchdogUnreachableGauge: Gauge

    /// Registers every series of `market` at its starting value, so a counter reads 0 (not absent)
    /// until its first increment and `increase()` sees the first one.
    public init(registry: PrometheusCollectorRegistry, market: String) {
        self.market = market
        let m = [("market", market)]
        var emitted: [String: Counter] = [:]
        for type in EventType.allCases { emitted[type.rawValue] = registry.counter(.eventsEmitted, m + [("type", type.rawValue)]) }
        self.emitted = emitted
        var orders: [EventType: Counter] = [:]
        for (type, outcome) in Self.orderOutcomes { orders[type] = registry.counter(.orders, m + [("outcome", outcome)]) }
        self.orders = orders
        var modes: [String: Gauge] = [:]
        for mode in Self.modes { modes[mode] = registry.gauge(.workerMode, m + [("mode", mode)]) }
        modeGauges = modes
        journalBytes = registry.gauge(.journalBytes, m)
        fsync = registry.durationHistogram(.journalFsyncSeconds, m, buckets: Self.fsyncBuckets)
        writeFailures = registry.counter(.journalWriteFailures, m)
        unacked = registry.gauge(.unackedEvents, m)
        latched = registry.gauge(.workerFailsafeLatched, m)
        healthy = registry.gauge(.workerHealthy, m)
        fence = registry.gauge(.workerFence, m)
        identityPass = registry.gauge(.workerIdentityPass, m)
        feedConnected = registry.gauge(.workerFeedConnected, m)
        lastHeartbeat = registry.gauge(.workerLastHeartbeat, m)
        watchdogUnreachableGauge = registry.gauge(.workerWatchdogUnreachable, m)
        var refused: [String: Counter] = [:]
        for reason in Self.refusalReasons { refused[reason] = registry.counter(.ordersRefused, m + [("reason", reason)]) }
        self.refused = refused
        gateRefusals = registry.gauge(.workerOrderGateRefusals, m)
        fenceRaises = registry.counter(.workerFenceRaises, m)
    }

    /// Events journaled and not yet acknowledged by the watchdog (the link's outbox, all runs).
    public func unackedEvents(_ count: Int) { unacked.set(to: Double(count)) }

    /// One event appended to the journal: `fsyncNanos` is the `fdatasync` that completed for it
    /// (nil when none did: nothing is observed), `journalSize` the journal's size after it.
    public func journaled(_ event: Event, fsyncNanos: Int64?, journalSize: Int) {
        emitted[event.type]?.increment()
        if let fsyncNanos { fsync.recordNanoseconds(fsyncNanos) }
        journalBytes.set(to: Double(journalSize))
        fence.set(to: Double(event.fence))
        guard let type = EventType(rawValue: event.type) else { return }
        if let counter = orders[type] { counter.increment() }
        switch type {
        case .heartbeat:
            if let micros = UTCTimestamp.parse(event.ts) { lastHeartbeat.set(to: Double(micros) / 1e6) }
        case .systemModeChange:
            if let to = event.data["to"]?.stringValue { setMode(to) }
        case .failsafeTriggered:
            latched.set(to: 1)
        case .failsafeCleared:
            latched.set(to: 0)
        case .healthStatus:
            if let ok = event.data["healthy"]?.boolValue { healthy.set(to: ok ? 1 : 0) }
        case .identityInvariantsStatus:
            if let ok = event.data["pass"]?.boolValue { identityPass.set(to: ok ? 1 : 0) }
        case .feedStatus:
            if let ok = event.data["connected"]?.boolValue { feedConnected.set(to: ok ? 1 : 0) }
        case .orderRejected:
            if let reason = event.data["reason"]?.stringValue { refused[reason]?.increment() }
        case .orderGateStatus:
            if let lines = event.data["refusals"]?.stringArrayValue { gateRefusals.set(to: Double(lines.count)) }
        case .fenceRaised:
            fenceRaises.increment()
        default:
            break
        }
    }

    /// A journal append that failed: the event was not emitted.
    public func journalWriteFailed() { writeFailures.increment() }

    /// The latch as the engine holds it (a latch restored from the snapshot emits no event).
    public func failsafeLatched(_ latched: Bool) { self.latched.set(to: latched ? 1 : 0) }

    /// Whether the worker holds OBSERVE_ONLY because the watchdog does not answer (WATCHDOG_UNREACHABLE).
    public func watchdogUnreachable(_ unreachable: Bool) { watchdogUnreachableGauge.set(to: unreachable ? 1 : 0) }

    private func setMode(_ mode: String) {
        for (name, gauge) in modeGauges { gauge.set(to: name == mode ? 1 : 0) }
    }
}
