import ProcessShell

/// The exit statuses of `watchdog` (docs/watchdog.md, "Exit statuses"; the shared ones in
/// docs/EXIT-STATUS.md).
public enum WatchdogExitStatus: Int32, Sendable, CaseIterable, ProgramExitStatus {
    /// `run`: stopped on SIGTERM/SIGINT with the snapshot saved. `status`: every market healthy.
    /// `ack`: something was acknowledged.
    case ok = 0
    /// `status`: a market is unhealthy (heartbeat not OK, identity not passing, lock not held, or an
    /// unacknowledged alert open). `ack`: no open alert matched.
    case unhealthy = 1
    /// `status`, `ack`: no watchdog serves the socket.
    case notRunning = 3
    /// `status`: a market named is not one the watchdog watches (LSB's "status unknown"); the error
    /// names the configured ones.
    case unknownMarket = 4
    /// Wrong usage (an unknown option, a missing argument).
    case usage = 64
    /// `run`: the snapshot file is damaged; refused rather than forget which events were applied.
    case snapshotDamaged = 65
    /// `run`: another watchdog already serves this socket (was 69 before the shared table).
    case alreadyRunning = 100
    /// `status`, `ack`: the watchdog answered something this build does not understand.
    case protocolError = 70
    /// A system call failed (epoll, listen on an adopted socket, writing the snapshot at exit).
    case osError = 71
    /// `run`: the socket or state folder cannot be created.
    case cannotCreate = 73
    /// `ack`: this user may not change the watchdog's state (only root and the watchdog's user).
    case notPermitted = 77
    /// The configuration is invalid.
    case config = 78
}
