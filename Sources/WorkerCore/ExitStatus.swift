/// The exit statuses of `robot-worker` (docs/robot-worker.md). The supervisor and systemd
/// (`RestartPreventExitStatus=`) read `alreadyActive` as "do not restart".
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Stopped on SIGTERM or SIGINT, lock released.
    case ok = 0
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
    /// The configuration is invalid, or names no such market.
    case config = 78
    /// Another live executor holds this canonical market's lock: fail closed, do not restart.
    case alreadyActive = 100
}
