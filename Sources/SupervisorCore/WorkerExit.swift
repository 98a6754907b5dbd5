#if canImport(Glibc)
import Glibc
#endif

/// How a worker's run ended, as `waitpid(2)` tells it, or a spawn that never ran.
public enum WorkerExit: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    /// posix_spawn failed (the detail names the command and the error).
    case spawnFailed(String)

    /// The worker's "another executor holds this market" status (robot-worker's ExitStatus.alreadyActive).
    public static let alreadyActiveStatus: Int32 = 100

    /// Decodes a `waitpid` status word (the WIFEXITED/WTERMSIG layout, which Swift cannot import as macros).
    public init(waitStatus status: Int32) {
        if status & 0x7f == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .signaled(status & 0x7f)
        }
    }

    public var exitCode: Int32? { if case .exited(let c) = self { return c } else { return nil } }
    public var signal: Int32? { if case .signaled(let s) = self { return s } else { return nil } }

    /// `exited with status 1`, `exited on signal 9 (SIGKILL)`, `could not be started: …`.
    public var description: String {
        switch self {
        case .exited(let code):
            return code == Self.alreadyActiveStatus
                ? "exited with status 100 (another executor holds the market)" : "exited with status \(code)"
        case .signaled(let s): return "exited on signal \(s) (\(Self.signalName(s)))"
        case .spawnFailed(let detail): return "could not be started: \(detail)"
        }
    }

    /// The conventional name of a signal (`SIGKILL`), or `signal N`.
    public static func signalName(_ s: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT",
            SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        ]
        return names[s] ?? "signal \(s)"
    }
}
