import Logging

/// One log convention for the three programs: a line says what changed, in words; `event` names the
/// change (the journal's `EVENT=`), `market` the market it concerns (`MARKET=`), further fields go
/// in `metadata`. Under systemd each line is a structured journal entry, else `program: message` on
/// stderr (`ProcessLogging`).
///
/// Make one only after `ProcessShell.begin` (which bootstraps swift-log): a `Logger` keeps the
/// handler of the moment it is made. A `static let` one is made on first use, so use it first after
/// `begin`, never in the expression that calls `begin`.
public struct ProcessLog: Sendable {
    public let logger: Logger
    /// The level of a line that names none.
    public let level: Logger.Level
    /// The `event` of a failed start (`fail`): `WORKER_START_FAILED`, `WATCHDOG_START_FAILED`, ...
    public let failureEvent: String

    /// A log labelled `label` (the program's name) whose every line carries `metadata`.
    public init(_ label: String, metadata: Logger.Metadata = [:], level: Logger.Level = .info, failureEvent: String) {
        var logger = Logger(label: label)
        for (key, value) in metadata { logger[metadataKey: key] = value }
        self.logger = logger
        self.level = level
        self.failureEvent = failureEvent
    }

    /// One line about a change.
    public func note(
        _ message: String, market: String? = nil, event: String? = nil, _ level: Logger.Level? = nil, metadata: Logger.Metadata = [:]
    ) {
        var fields = metadata
        if let event { fields["event"] = "\(event)" }
        if let market { fields["market"] = "\(market)" }
        logger.log(level: level ?? self.level, "\(message)", metadata: fields)
    }

    /// A start-up step failed: one error line, with `failureEvent` unless `metadata` names another
    /// event, and the status the program exits with.
    public func fail<Status: ProgramExitStatus>(_ status: Status, _ message: String, metadata: Logger.Metadata = [:]) -> Status {
        var fields = metadata
        if fields["event"] == nil { fields["event"] = "\(failureEvent)" }
        logger.log(level: .error, "\(message)", metadata: fields)
        return status
    }
}

/// A start-up step failed: the status the program exits with and the one line that says why.
public struct StartupFailure<Status: ProgramExitStatus>: Error {
    public var status: Status
    public var message: String
    public var metadata: Logger.Metadata

    public init(_ status: Status, _ message: String, metadata: Logger.Metadata = [:]) {
        self.status = status
        self.message = message
        self.metadata = metadata
    }
}

extension ProcessLog {
    /// Serves what the start-up prepared, or logs why it failed: the program's exit status either way.
    public func run<Ready, Status>(_ prepared: Result<Ready, StartupFailure<Status>>, serve: (Ready) -> Status) -> Status {
        switch prepared {
        case .success(let ready): return serve(ready)
        case .failure(let failure): return fail(failure.status, failure.message, metadata: failure.metadata)
        }
    }
}
