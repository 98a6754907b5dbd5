import Prometheus

extension MetricName {
    public static let capitalAllocated = MetricName(
        "robot_capital_allocated", "The account's allocated capital (venue.capital), as the market's worker uses it in its capital ledger.")
    public static let capitalReservedOrders = MetricName(
        "robot_capital_reserved_for_orders", "Capital reserved by the market's open and sent orders (quantity x limit, or x the last price).")
    public static let capitalReservedPositions = MetricName(
        "robot_capital_reserved_for_positions", "Capital reserved by the market's positions (|quantity| x average price).")
    public static let capitalRealizedPnL = MetricName("robot_capital_realized_pnl", "Realized P&L of the market's positions.")
    public static let capitalAvailable = MetricName(
        "robot_capital_available",
        "allocated - reserved_for_orders - reserved_for_positions + realized_pnl: the capital ledger's invariant keeps it >= 0.")
    public static let capitalRefusals = MetricName(
        "robot_capital_refusals_total", "Orders refused before they were sent because they would break the capital ledger's invariant.")
    public static let capitalViolations = MetricName(
        "robot_capital_violations_total", "Fills after which the capital ledger's invariant was broken (each trips CAPITAL_INVARIANT).")
    public static let reconciliations = MetricName(
        "robot_reconciliations_total", "Reconciliations of the worker's book with its venue, by result: clean or mismatched.")
}

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
