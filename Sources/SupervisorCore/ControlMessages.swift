/// A request on the supervisor's control socket: one JSON line (docs/PROTOCOL.md,
/// "Supervisor control socket"). `{"v":1,"command":"start","market":"MES"}`.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Command: String, Codable, Sendable, CaseIterable {
        case status, start, stop, restart, reload

        /// Commands that change state: allowed to root and to the supervisor's own user only.
        public var changesState: Bool { self != .status }
    }

    public var v: Int64 = 1
    public var command: Command
    /// start, stop, restart: a canonical or execution instrument (canonicalised by the supervisor).
    public var market: String?

    public init(command: Command, market: String? = nil) {
        self.command = command
        self.market = market
    }
}

/// The one response line to a request. `ok` false means refused or failed; `message` says what
/// happened in one line; `markets` carries the rows the request concerns (all for status and reload).
/// `{"v":1,"ok":true,"message":"ES: RUNNING (pid 4242)","markets":{"ES":{…}},"supervisor_pid":4100}`
public struct ControlResponse: Codable, Sendable, Equatable {
    /// Why a request did not succeed, for the client's exit status.
    public enum Failure: String, Codable, Sendable {
        /// Not allowed, unknown market, malformed request, shutting down: nothing was changed.
        case refused
        /// Tried, but the market did not reach the state asked for (BLOCKED, FATAL, a timeout…).
        case failed
    }

    public var v: Int64 = 1
    public var ok: Bool
    public var failure: Failure?
    /// A refusal's reason (one of `rejected`'s keys, `not_permitted` ...), nil otherwise.
    public var reason: String?
    public var message: String
    public var markets: [String: MarketStatus]?
    /// The paper venue's row (`VenueChild`), in every answer that carries rows, when the supervisor
    /// runs it; absent otherwise. Not a market: `markets` never holds it.
    public var venue: MarketStatus?
    public var supervisorPid: Int32
    /// True once the supervisor sent (or would send) READY=1 upstream.
    public var ready: Bool
    /// Notify datagrams from pids that are none of the workers, since start.
    public var unknownNotifyDatagrams: Int
    /// Refused control requests since start, by reason (`invalid_request`, `line_too_long`,
    /// `not_permitted`, `unknown_market`, `shutting_down`).
    public var rejected: [String: Int]

    public init(
        ok: Bool, failure: Failure? = nil, reason: String? = nil, message: String, markets: [String: MarketStatus]?, supervisorPid: Int32,
        ready: Bool, unknownNotifyDatagrams: Int, rejected: [String: Int] = [:], venue: MarketStatus? = nil
    ) {
        self.venue = venue
        self.rejected = rejected
        self.reason = reason
        self.ok = ok
        self.failure = failure
        self.message = message
        self.markets = markets
        self.supervisorPid = supervisorPid
        self.ready = ready
        self.unknownNotifyDatagrams = unknownNotifyDatagrams
    }

    enum CodingKeys: String, CodingKey {
        case v, ok, failure, reason, message, markets, ready, rejected, venue
        case supervisorPid = "supervisor_pid"
        case unknownNotifyDatagrams = "unknown_notify_datagrams"
    }
}

/// One market's row in a response. Absent values are JSON `null`, never left out.
public struct MarketStatus: Codable, Sendable, Equatable {
    public struct LastExit: Codable, Sendable, Equatable {
        /// `exited with status 1`, `exited on signal 9 (SIGKILL)`.
        public var description: String
        /// The exit status, or null when a signal ended it.
        public var status: Int32?
        /// The signal number that ended it, or null.
        public var signal: Int32?
        public var atUTC: String
        /// How long that run lasted.
        public var afterSeconds: Double
        /// `stopped`, `restart`, `watchdog timeout`, `start timeout` when the supervisor ended it.
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case description, status, signal, reason
            case atUTC = "at_utc"
            case afterSeconds = "after_seconds"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(description, forKey: .description)
            try c.encode(status, forKey: .status)
            try c.encode(signal, forKey: .signal)
            try c.encode(atUTC, forKey: .atUTC)
            try c.encode(afterSeconds, forKey: .afterSeconds)
            try c.encode(reason, forKey: .reason)
        }
    }

    public var state: SupervisionState
    public var pid: Int32?
    public var uptimeSeconds: Double?
    public var restarts: Int
    public var lastExit: LastExit?
    /// In BACKOFF: when the next start is due, and in how many seconds.
    public var nextRestartUTC: String?
    public var nextRestartInSeconds: Double?
    /// The worker's last STATUS= text.
    public var workerStatus: String?
    /// In FATAL: the alert.
    public var alert: String?
    /// Stopped by an operator (UTC time of the stop), remembered across supervisor restarts until
    /// an operator starts the market; null otherwise.
    public var stoppedByOperatorSinceUTC: String?

    enum CodingKeys: String, CodingKey {
        case state, pid, restarts, alert
        case uptimeSeconds = "uptime_seconds"
        case lastExit = "last_exit"
        case nextRestartUTC = "next_restart_utc"
        case nextRestartInSeconds = "next_restart_in_seconds"
        case workerStatus = "worker_status"
        case stoppedByOperatorSinceUTC = "stopped_by_operator_since_utc"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(pid, forKey: .pid)
        try c.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(lastExit, forKey: .lastExit)
        try c.encode(nextRestartUTC, forKey: .nextRestartUTC)
        try c.encode(nextRestartInSeconds, forKey: .nextRestartInSeconds)
        try c.encode(workerStatus, forKey: .workerStatus)
        try c.encode(alert, forKey: .alert)
        try c.encode(stoppedByOperatorSinceUTC, forKey: .stoppedByOperatorSinceUTC)
    }
}
