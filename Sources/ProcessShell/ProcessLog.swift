import Logging

/// One log convention for the three programs: a line says what changed, in words; `event` names the
/// change (the journal's `EVENT=`), `market` the market it concerns (`MARKET=`), further fields go
/// in `metadata`. Under systemd each line is a structured journal entry, else `program: message` on
/// stderr (`ProcessLogging`).
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
