/// The `supervisor` section of the configuration (docs/CONFIG.md, docs/supervisor.md). Every key is
/// optional; the defaults are the documented ones. Times are in seconds.
public struct SupervisorSettings: Sendable, Equatable {
    /// The argv of a worker, `{market}` replaced by the canonical market, `{config}` by the
    /// configuration file (empty for the embedded default) and `{home}` by the home folder.
    /// nil (the default): `robot-worker` next to the supervisor's own executable, run as
    /// `robot-worker --market {market} [--config {config}] --home {home}`.
    /// The command must become the worker itself (a shell must `exec` it): the worker checks that
    /// its parent is the supervisor.
    public var workerCommand: [String]? = nil
    /// `WATCHDOG_USEC` given to workers: a worker silent (no `WATCHDOG=1`) this long is hung.
    public var watchdog: Double = 10
    /// After the watchdog's SIGABRT, how long before SIGKILL.
    public var watchdogKillGrace: Double = 2
    /// How long a new worker has to send `READY=1` before it is killed as a failed start.
    public var startTimeout: Double = 10
    /// After SIGTERM on a stop, how long before SIGKILL.
    public var stopTimeout: Double = 5
    /// A run that stayed ready (after READY=1) at least this long resets the backoff: its restart is immediate.
    public var minUptime: Double = 5
    /// The first backoff delay after a short run.
    public var backoffInitial: Double = 0.1
    /// The largest backoff delay (before jitter).
    public var backoffMax: Double = 10
    /// Each further short run multiplies the delay by this.
    public var backoffMultiplier: Double = 2
    /// Each delay is scaled by a random factor in 1 ± this fraction.
    public var backoffJitter: Double = 0.2
    /// More than this many automatic restarts within `restartWindow` puts the market in FATAL.
    public var maxRestarts: Int = 5
    public var restartWindow: Double = 60

    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys: [String] = [
        "worker_command", "watchdog_seconds", "watchdog_kill_grace_seconds", "start_timeout_seconds", "stop_timeout_seconds",
        "min_uptime_seconds", "backoff_initial_seconds", "backoff_max_seconds", "backoff_multiplier", "backoff_jitter",
        "max_restarts", "restart_window_seconds",
    ]

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> SupervisorSettings {
        guard var r = try top.optionalObject("supervisor") else { return SupervisorSettings() }
        var s = SupervisorSettings()
        let hour = 3600.0
        if let v = r.optional("worker_command") {
            guard case .array(let items) = v, !items.isEmpty else {
                throw r.error("worker_command", v, "expected a non-empty array of strings (argv; {market}, {config}, {home} are replaced)")
            }
            var argv: [String] = []
            for item in items {
                guard case .string(let arg) = item, !arg.utf8.contains(0) else {
                    throw r.error("worker_command", v, "expected an array of strings")
                }
                argv.append(arg)
            }
            guard argv[0].hasPrefix("/") else {
                throw r.error("worker_command", v, "expected an absolute path as the first element (no PATH search)")
            }
            s.workerCommand = argv
        }
        s.watchdog = try r.number("watchdog_seconds", default: s.watchdog, in: 0.05...hour)
        s.watchdogKillGrace = try r.number("watchdog_kill_grace_seconds", default: s.watchdogKillGrace, in: 0.01...hour)
        s.startTimeout = try r.number("start_timeout_seconds", default: s.startTimeout, in: 0.05...hour)
        s.stopTimeout = try r.number("stop_timeout_seconds", default: s.stopTimeout, in: 0.01...hour)
        s.minUptime = try r.number("min_uptime_seconds", default: s.minUptime, in: 0...hour)
        s.backoffInitial = try r.number("backoff_initial_seconds", default: s.backoffInitial, in: 0.001...hour)
        s.backoffMax = try r.number("backoff_max_seconds", default: s.backoffMax, in: 0.001...hour)
        s.backoffMultiplier = try r.number("backoff_multiplier", default: s.backoffMultiplier, in: 1...100)
        s.backoffJitter = try r.number("backoff_jitter", default: s.backoffJitter, in: 0...0.9)
        s.maxRestarts = try r.integer("max_restarts", default: s.maxRestarts, in: 0...10_000)
        s.restartWindow = try r.number("restart_window_seconds", default: s.restartWindow, in: 0.01...(24 * hour))
        if s.backoffMax < s.backoffInitial {
            throw r.error(
                "backoff_max_seconds", r.object["backoff_max_seconds"] ?? .double(s.backoffMax),
                "expected at least backoff_initial_seconds (\(ConfigReader.format(s.backoffInitial)))")
        }
        try r.rejectUnknownKeys(keys)
        return s
    }
}
