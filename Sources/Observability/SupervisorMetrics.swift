import Prometheus

/// The metrics of the `supervisor` (docs/METRICS.md, "supervisor"), per supervised `market`.
///
/// The supervisor's shell calls these on its reactor thread when its market machines change:
/// `state` after every change, `restart` when the restart policy decides a restart, the timeout
/// counters when the machine ends a worker for a missed deadline. Every series of a market is
/// registered at 0 by `register`, so `increase(...[10m])` sees the first restart.
public final class SupervisorMetrics: Sendable {
    /// Why a worker is restarted: `robot_supervisor_restarts_total{cause}`.
    public enum RestartCause: String, Sendable, CaseIterable {
        /// The worker exited with a status on its own.
        case exit
        /// The worker was ended by a signal nobody in the supervisor sent (SIGKILL by the OOM killer, a crash).
        case signal
        /// The supervisor ended it for missing WATCHDOG=1.
        case watchdogTimeout = "watchdog_timeout"
        /// The supervisor ended it for missing READY=1.
        case startTimeout = "start_timeout"
        /// The worker could not be spawned at all (posix_spawn failed).
        case spawnFailed = "spawn_failed"
    }

    /// The supervision states (`SupervisionState` raw values).
    public static let states = ["STARTING", "RUNNING", "BACKOFF", "STOPPING", "STOPPED", "BLOCKED", "FATAL"]

    private let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Registers every series of `market` at 0.
    public func register(market: String) {
        for cause in RestartCause.allCases { _ = registry.counter(.supervisorRestarts, Self.labels(market, ("cause", cause.rawValue))) }
        for state in Self.states { _ = registry.gauge(.supervisorWorkerState, Self.labels(market, ("state", state))) }
        _ = registry.gauge(.supervisorWorkerUp, Self.labels(market))
        _ = registry.counter(.supervisorReadinessTimeouts, Self.labels(market))
        _ = registry.counter(.supervisorWatchdogTimeouts, Self.labels(market))
    }

    /// The market's current state (a `SupervisionState` raw value): 1 for it, 0 for the others.
    public func state(market: String, _ current: String) {
        for state in Self.states {
            registry.gauge(.supervisorWorkerState, Self.labels(market, ("state", state))).set(to: state == current ? 1 : 0)
        }
        registry.gauge(.supervisorWorkerUp, Self.labels(market)).set(to: current == "RUNNING" ? 1 : 0)
    }

    /// The restart policy decided to start the market's worker again.
    public func restart(market: String, cause: RestartCause) {
        registry.counter(.supervisorRestarts, Self.labels(market, ("cause", cause.rawValue))).increment()
    }

    /// A worker was killed for sending no READY=1 in time.
    public func readinessTimeout(market: String) { registry.counter(.supervisorReadinessTimeouts, Self.labels(market)).increment() }

    /// A worker was ended for sending no WATCHDOG=1 in time.
    public func watchdogTimeout(market: String) { registry.counter(.supervisorWatchdogTimeouts, Self.labels(market)).increment() }

    // MARK: the paper venue, when the supervisor runs it (no `market` label: it is not a market)

    /// Registers the venue's series at 0.
    public func registerVenue() {
        for cause in RestartCause.allCases { _ = registry.counter(.supervisorVenueRestarts, [("cause", cause.rawValue)]) }
        venueState("STOPPED")
    }

    /// The venue's current state: 1 for it, 0 for the others.
    public func venueState(_ current: String) {
        for state in Self.states where state != "BLOCKED" {
            registry.gauge(.supervisorVenueState, [("state", state)]).set(to: state == current ? 1 : 0)
        }
        registry.gauge(.supervisorVenueUp).set(to: current == "RUNNING" ? 1 : 0)
    }

    /// The restart policy decided to start the venue again (its readiness and watchdog timeouts
    /// are counted here, by `cause`).
    public func venueRestart(cause: RestartCause) { registry.counter(.supervisorVenueRestarts, [("cause", cause.rawValue)]).increment() }

    private static func labels(_ market: String, _ extra: (String, String)...) -> [(String, String)] { [("market", market)] + extra }
}
