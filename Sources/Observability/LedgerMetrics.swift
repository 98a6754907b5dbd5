import Prometheus

/// The capital ledger's terms and violations and the reconciliations of one worker (docs/METRICS.md,
/// "robot-worker"), labelled with its canonical `market`.
public final class LedgerMetrics: Sendable {
    private let allocated: Gauge
    private let reservedOrders: Gauge
    private let reservedPositions: Gauge
    private let realized: Gauge
    private let available: Gauge
    private let refusals: Counter
    private let violations: Counter
    private let clean: Counter
    private let mismatched: Counter

    public init(registry: PrometheusCollectorRegistry, market: String) {
        let m = [("market", market)]
        allocated = registry.gauge(.capitalAllocated, m)
        reservedOrders = registry.gauge(.capitalReservedOrders, m)
        reservedPositions = registry.gauge(.capitalReservedPositions, m)
        realized = registry.gauge(.capitalRealizedPnL, m)
        available = registry.gauge(.capitalAvailable, m)
        refusals = registry.counter(.capitalRefusals, m)
        violations = registry.counter(.capitalViolations, m)
        clean = registry.counter(.reconciliations, m + [("result", "clean")])
        mismatched = registry.counter(.reconciliations, m + [("result", "mismatched")])
    }

    public func ledger(allocated a: Double, reservedForOrders o: Double, reservedForPositions p: Double, realizedPnL r: Double) {
        allocated.set(a)
        reservedOrders.set(o)
        reservedPositions.set(p)
        realized.set(r)
        available.set(a - o - p + r)
    }

    public func capitalRefused() { refusals.increment() }
    public func capitalViolation() { violations.increment() }
    public func reconciled(clean ok: Bool) { (ok ? clean : mismatched).increment() }
}
