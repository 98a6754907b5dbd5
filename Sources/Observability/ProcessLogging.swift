import Logging

/// Sets up swift-log for one of the robot processes. Call `bootstrap` once, first thing in the
/// process's run path (swift-log stops a process that bootstraps twice); every `Logger` made after
/// it writes through `JournalLogHandler` to the destination the environment selects.
public enum ProcessLogging {
    /// Bootstraps swift-log with `JournalLogHandler` for `identifier` (`robot-worker`, `supervisor`,
    /// `watchdog`: the `SYSLOG_IDENTIFIER=` and the stderr prefix). Returns the destination chosen.
    @discardableResult
    public static func bootstrap(identifier: String, environment: [String: String]) -> LogDestination {
        let destination = LogDestination.detect(environment: environment)
        LoggingSystem.bootstrap { _ in JournalLogHandler(identifier: identifier, destination: destination) }
        return destination
    }
}
