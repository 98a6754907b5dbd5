import CShim
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// One spawned worker: its pid (also its process group) and a pidfd the reactor watches, so its
/// death is learned from the kernel at once, never by polling.
///
/// Spawned with `cshim_spawn`: a process group of its own, every signal at its default disposition,
/// an empty signal mask (the supervisor blocks the signals its reactor reads from a signalfd).
/// The supervisor spawns only from its one reactor thread, the main thread, which lives as long
/// as the process; so the worker's PR_SET_PDEATHSIG (which fires when the *thread* that forked it
/// ends) fires exactly when the supervisor process ends.
final class WorkerProcess {
    let pid: Int32
    /// -1 when pidfd_open is unavailable; SIGCHLD still reaps the worker then.
    private(set) var pidfd: Int32

    private init(pid: Int32, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// Spawns `argv` with `environment`; throws the posix_spawn error (the command is named in it).
    static func spawn(argv: [String], environment: [String]) throws(SystemError) -> WorkerProcess {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        var cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = cArgs.withUnsafeMutableBufferPointer { a in
            cEnv.withUnsafeMutableBufferPointer { e in cshim_spawn(argv[0], a.baseAddress!, e.baseAddress!, &pid) }
        }
        guard rc == 0 else { throw SystemError("posix_spawn \(argv[0])", code: rc) }
        return WorkerProcess(pid: pid, pidfd: cshim_pidfd_open(pid))
    }

    /// Signals the worker itself. Through the pidfd there is no pid-reuse window; without one,
    /// `kill` is still safe because the supervisor has not reaped the pid yet.
    func signal(_ sig: Int32) {
        if pidfd >= 0 { _ = cshim_pidfd_send_signal(pidfd, sig) } else { _ = kill(pid, sig) }
    }

    /// Signals the worker's whole process group (the worker and anything it started).
    func signalGroup(_ sig: Int32) { _ = kill(-pid, sig) }

    /// Reaps the worker if it has exited: its exit, or nil while it runs (or was reaped already).
    func reap() -> WorkerExit? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        return rc == pid ? WorkerExit(waitStatus: status) : nil
    }

    /// Closes the pidfd; call it after the reactor stopped watching it.
    func closePidfd() {
        if pidfd >= 0 { close(pidfd) }
        pidfd = -1
    }
}
