import ProcessShell

/// The exit statuses of `robot-worker` (docs/robot-worker.md; the shared ones in
/// docs/EXIT-STATUS.md). The supervisor and systemd (`RestartPreventExitStatus=`) read
/// `alreadyActive` as "do not restart".
public enum ExitStatus: Int32, Sendable, CaseIterable, ProgramExitStatus {
    /// Stopped on SIGTERM or SIGINT, lock released. `order`, `cancel`: done.
    case ok = 0
    /// `order`, `cancel`: the worker refused (blocked, rejected, no such open order).
    case refused = 1
    /// `order`, `cancel`: no worker of the market is running.
    case notRunning = 3
    /// Wrong usage (an unknown option, a missing argument).
    case usage = 64
    /// The lock's fence file is damaged: refused rather than restart the fence from a guess.
    case lockStateDamaged = 65
    /// An internal error.
    case software = 70
    /// A system call failed unexpectedly.
    case osError = 71
    /// The lock folder or the state folder cannot be created or written.
    case cannotCreate = 73
    /// Started by a supervisor (`ROBOT_SUPERVISOR_PID`) that had already exited: nothing to run for.
    case parentGone = 75
    /// `order`, `cancel`: this user may not place or cancel orders, or the control socket's mode
    /// keeps this user out.
    case notPermitted = 77
    /// The configuration is invalid, or names no such market.
    case config = 78
    /// Another live executor holds this canonical market's lock: fail closed, do not restart.
    case alreadyActive = 100
}
