import CShim

#if canImport(Glibc)
import Glibc
#endif

/// A spawned child: its pid (also its process group) and a pidfd the reactor can watch, so its
/// death is learned from the kernel at once, never by polling. The supervisor's workers and the
/// worker's strategy process are both one (`SupervisorCore.WorkerProcess`, `WorkerCore.StrategyHost`).
///
/// Both spawns give the child a process group of its own, every signal at its default disposition
/// and an empty signal mask. Spawn only from a thread that lives as long as the process (the
/// reactor's): PR_SET_PDEATHSIG fires when the *thread* that forked the child ends.
public final class ChildProcess {
    public let pid: Int32
    /// -1 when pidfd_open is unavailable; SIGCHLD still reaps the child then.
    public private(set) var pidfd: Int32

    private init(pid: Int32) {
        self.pid = pid
        self.pidfd = cshim_pidfd_open(pid)
    }

    /// Spawns `argv` with `environment` through posix_spawn; throws its error (the command is
    /// named in it). The child asks for its own parent-death signal if it wants one (a worker does).
    public static func spawn(argv: [String], environment: [String]) throws(SystemError) -> ChildProcess {
        try withCStrings(argv, environment) { (a, e) throws(SystemError) in
            var pid: pid_t = 0
            let rc = cshim_spawn(argv[0], a, e, &pid)
            guard rc == 0 else { throw SystemError("posix_spawn \(argv[0])", code: rc) }
            return ChildProcess(pid: pid)
        }
    }

    /// What `spawnTied` sets up in the child beyond `spawn`.
    public struct Tie: Sendable {
        /// The signal the kernel sends the child when the spawning thread ends (PR_SET_PDEATHSIG).
        public var deathSignal: Int32 = SIGKILL
        /// A descriptor the child gets as `targetFD` (close-on-exec cleared); every other one above 2 is closed.
        public var passFD: Int32 = -1
        public var targetFD: Int32 = 3
        /// The child's working folder; nil keeps the parent's.
        public var workingDirectory: String?
        public init(deathSignal: Int32 = SIGKILL, passFD: Int32 = -1, targetFD: Int32 = 3, workingDirectory: String? = nil) {
            self.deathSignal = deathSignal
            self.passFD = passFD
            self.targetFD = targetFD
            self.workingDirectory = workingDirectory
        }
    }

    /// Spawns a child tied to this process: it dies with it (PR_SET_PDEATHSIG, set before exec,
    /// so even a program that knows nothing of it dies), gets one descriptor and nothing else.
    /// `argv[0]` without a `/` is looked up on the `PATH` of `environment`. Throws the failing
    /// step's error, including a failed exec.
    public static func spawnTied(argv: [String], environment: [String], tie: Tie) throws(SystemError) -> ChildProcess {
        guard let program = argv.first else { throw SystemError("spawn: empty command", code: EINVAL) }
        let path = try resolve(program, environment: environment)
        return try withCStrings(argv, environment) { (a, e) throws(SystemError) in
            var pid: pid_t = 0
            let rc = cshim_spawn_child(path, a, e, tie.workingDirectory, tie.passFD, tie.targetFD, tie.deathSignal, &pid)
            guard rc == 0 else {
                throw SystemError("spawn \(program)" + (tie.workingDirectory.map { " in \($0)" } ?? ""), code: rc)
            }
            return ChildProcess(pid: pid)
        }
    }

    /// `program` itself when it names a path, else the first executable of that name on `PATH`.
    static func resolve(_ program: String, environment: [String]) throws(SystemError) -> String {
        if program.utf8.contains(UInt8(ascii: "/")) { return program }
        let pathValue = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in pathValue.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = folder + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw SystemError("spawn \(program): not found on PATH (\(pathValue))", code: ENOENT)
    }

    private static func withCStrings<R>(
        _ argv: [String], _ environment: [String],
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws(SystemError)
            -> R
    ) throws(SystemError) -> R {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let result: Result<R, SystemError> = cArgs.withUnsafeMutableBufferPointer { a in
            cEnv.withUnsafeMutableBufferPointer { e in
                do throws(SystemError) { return .success(try body(a.baseAddress!, e.baseAddress!)) } catch { return .failure(error) }
            }
        }
        return try result.get()
    }

    /// Signals the child itself. Through the pidfd there is no pid-reuse window; without one,
    /// `kill` is still safe because the parent has not reaped the pid yet.
    public func signal(_ sig: Int32) {
        if pidfd >= 0 { _ = cshim_pidfd_send_signal(pidfd, sig) } else { _ = kill(pid, sig) }
    }

    /// Signals the child's whole process group (the child and anything it started).
    public func signalGroup(_ sig: Int32) { _ = kill(-pid, sig) }

    /// Reaps the child if it has exited: its raw wait status, or nil while it runs (or was reaped already).
    public func reap() -> Int32? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        return rc == pid ? status : nil
    }

    /// Closes the pidfd; call it after the reactor stopped watching it.
    public func closePidfd() {
        if pidfd >= 0 { close(pidfd) }
        pidfd = -1
    }
}
