import ProcessShell

/// The exit statuses of `supervisor` (docs/supervisor.md, "Exit statuses"; the shared ones in
/// docs/EXIT-STATUS.md).
public enum SupervisorExitStatus: Int32, Sendable, CaseIterable, ProgramExitStatus {
    /// run: stopped on SIGTERM/SIGINT with every worker ended. status: every market RUNNING.
    /// start, stop, restart, reload: done.
    case ok = 0
    /// status: some market is not RUNNING. start, stop, restart, reload: tried, and the market did
    /// not get there (BLOCKED, FATAL, a failed start, a timeout).
    case notAllRunning = 1
    /// start, stop, restart, reload: refused (unknown market, bad request, shutting down).
    case refused = 2
    /// A client command found no supervisor serving the control socket.
    case notRunning = 3
    /// status: a market named is not one the supervisor supervises (LSB's "status unknown"); the
    /// error names the configured ones.
    case unknownMarket = 4
    /// Wrong usage.
    case usage = 64
    /// A system call failed (sockets, epoll, signals); or the supervisor answered something unreadable.
    case osError = 71
    /// A client command this user may not give (not root, not the supervisor's user), or the
    /// control socket's mode keeps this user out.
    case notPermitted = 77
    /// The configuration is invalid.
    case config = 78
    /// run: another supervisor already serves the control socket (the single-instance guard).
    case alreadyRunning = 100
}
