/// The exit statuses whose meaning is the same in every robot program (docs/EXIT-STATUS.md). A
/// program's own statuses (`ExitStatus`, `WatchdogExitStatus`, `SupervisorExitStatus`) use these
/// numbers for these meanings; `ExitStatusTests` checks it, and each manual page against its enum.
public enum SharedExitStatus: Int32, Sendable, CaseIterable {
    /// Done (a server: stopped on SIGTERM/SIGINT after a clean shutdown).
    case ok = 0
    /// A client command found nothing serving the socket it asks.
    case notRunning = 3
    /// A `status` command named a market the program does not know (LSB's "status unknown").
    case unknownMarket = 4
    /// Wrong usage (an unknown option, a missing argument).
    case usage = 64
    /// A system call failed unexpectedly.
    case osError = 71
    /// This user may not do that: refused by the server, or the socket's mode keeps the user out.
    case notPermitted = 77
    /// The configuration is invalid (or names no such market).
    case config = 78
    /// Another instance already holds what this one would serve: a second server on the same
    /// socket, or another worker holding the market's lock. Never restarted automatically.
    case anotherInstance = 100
}

/// A program's exit statuses: each one either has a shared meaning, and then its shared number, or
/// is the program's own, and then a number the table does not use (`ExitStatusTests`).
public protocol ProgramExitStatus: RawRepresentable, CaseIterable, Sendable where RawValue == Int32 {}

extension ProgramExitStatus {
    /// The shared meaning of this status, nil when it is the program's own.
    public var shared: SharedExitStatus? { SharedExitStatus(rawValue: rawValue) }
}
