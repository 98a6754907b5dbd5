import RobotConfig

/// The paper venue as a child of the supervisor (docs/supervisor.md, "The paper venue"): whether it
/// runs, how it is launched, and its order against the workers. Pure: the shell (`Supervisor+Venue`)
/// drives a `MarketSupervisor` machine named `paper-venue` for it, with the workers' restart policy
/// and timeouts, and asks this type when to start the markets and when to stop the venue.
///
/// - Start: the venue first; the markets once it has left STARTING for the first time (RUNNING, or
///   a failed start: the workers then start OBSERVE_ONLY and reconcile when it answers, as they do
///   with a venue that is down).
/// - Shutdown: every worker first (a worker cancels through the venue), the venue once none is left.
public struct VenueChild: Sendable, Equatable {
    /// Its name in logs and in `supervisor status` (not a market: no market has a lower-case name).
    public static let name = "paper-venue"

    /// Whether the markets were started (they start once; later venue restarts do not hold them).
    public private(set) var marketsStarted: Bool

    /// `supervised`: the supervisor runs the venue (`VenueSettings.supervisedBySupervisor`); when
    /// false the markets start at once.
    public init(supervised: Bool) { marketsStarted = !supervised }

    /// After a change of the venue's machine (or at start): true exactly once, when the markets
    /// should start now.
    public mutating func startMarkets(venue: SupervisionState, shuttingDown: Bool) -> Bool {
        guard !marketsStarted, !shuttingDown, venue != .starting, venue != .stopped else { return false }
        marketsStarted = true
        return true
    }

    /// During shutdown: whether to stop the venue now, `workersLeft` workers still having a process.
    public static func stopVenue(shuttingDown: Bool, workersLeft: Int) -> Bool { shuttingDown && workersLeft == 0 }

    /// The venue's argv and environment: `paper-venue run` beside the supervisor, on the
    /// supervisor's configuration (so its socket, address, state folder and token are the ones the
    /// workers use), with the workers' environment (`WorkerLaunch.environment`: the supervisor's
    /// notify socket and watchdog, `ROBOT_SUPERVISOR_PID`, `ROBOT_HOME`, `ROBOT_CONFIG`).
    public static func launch(
        config: Configuration, configFile: String?, directory: String, notifySocket: String, supervisorPid: Int32,
        inherited: [String: String]
    ) -> (argv: [String], environment: [String]) {
        var argv = [directory + "/paper-venue", "run"]
        if let configFile { argv += ["--config", configFile] }
        argv += ["--home", config.home]
        let environment = WorkerLaunch.environment(
            config: config, configFile: configFile, notifySocket: notifySocket, supervisorPid: supervisorPid, inherited: inherited)
        return (argv, environment)
    }
}
