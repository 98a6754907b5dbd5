import Prometheus

/// The metrics of a worker's lease across hosts (docs/METRICS.md, "robot-worker"), labelled with
/// its canonical `market`. Set on the reactor thread; only numbers are stored.
public final class LeaseMetrics: Sendable {
    public static let roles = ["HOLDER", "STANDBY", "LEASE_LOST", "STARTING"]
    /// Renewal round trips, 1 ms to 5 s.
    public static let renewBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
    ]

    private let renew: DurationHistogram
    private let renewFailures: Counter
    private let acquisitions: Counter
    private let standbySeconds: Counter
    private let roleGauges: [String: Gauge]
    private let databaseUp: Gauge
    private let standbys: Gauge

    public init(registry: PrometheusCollectorRegistry, market: String) {
        let m = [("market", market)]
        renew = registry.durationHistogram(.leaseRenewSeconds, m, buckets: Self.renewBuckets)
        renewFailures = registry.counter(.leaseRenewFailures, m)
        acquisitions = registry.counter(.leaseTakeovers, m)
        standbySeconds = registry.counter(.leaseStandbySeconds, m)
        var roles: [String: Gauge] = [:]
        for role in Self.roles { roles[role] = registry.gauge(.leaseRole, m + [("role", role)]) }
        roleGauges = roles
        databaseUp = registry.gauge(.leaseDatabaseUp, m)
        standbys = registry.gauge(.leaseStandbys, m)
    }

    public func renewed(nanos: Int64) { renew.recordNanoseconds(nanos) }
    public func renewFailed() { renewFailures.increment() }
    public func acquired() { acquisitions.increment() }
    public func inStandby(seconds: Double) { if seconds > 0 { standbySeconds.increment(by: seconds) } }
    public func role(_ word: String) { for (name, gauge) in roleGauges { gauge.set(to: name == word ? 1 : 0) } }
    public func database(up: Bool) { databaseUp.set(to: up ? 1 : 0) }
    public func standbys(_ count: Int) { standbys.set(to: Double(count)) }
}
