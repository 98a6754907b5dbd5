import Platform

/// One spawned child (a worker, or the paper venue: `spawnTied`): a `Platform.ChildProcess` (its
/// pid, also its process group, and a pidfd the reactor watches, so its death is learned from the
/// kernel at once, never by polling).
///
/// Spawned with `cshim_spawn`: a process group of its own, every signal at its default disposition,
/// an empty signal mask (the supervisor blocks the signals its reactor reads from a signalfd).
/// The supervisor spawns only from its one reactor thread, the main thread, which lives as long
/// as the process; so the worker's PR_SET_PDEATHSIG (which fires when the *thread* that forked it
/// ends) fires exactly when the supervisor process ends.
final class WorkerProcess {
    private let child: ChildProcess
    var pid: Int32 { child.pid }
    /// -1 when pidfd_open is unavailable; SIGCHLD still reaps the worker then.
    var pidfd: Int32 { child.pidfd }

    private init(_ child: ChildProcess) { self.child = child }

    /// Spawns `argv` with `environment`; throws the posix_spawn error (the command is named in it).
    static func spawn(argv: [String], environment: [String]) throws(SystemError) -> WorkerProcess {
        WorkerProcess(try ChildProcess.spawn(argv: argv, environment: environment))
    }

    /// Spawns `argv` tied to the supervisor: the kernel sends it `deathSignal` when the supervisor
    /// dies (PR_SET_PDEATHSIG, set before exec, so a program that knows nothing of
    /// `ROBOT_SUPERVISOR_PID` dies with it too: the paper venue).
    static func spawnTied(argv: [String], environment: [String], deathSignal: Int32) throws(SystemError) -> WorkerProcess {
        WorkerProcess(try ChildProcess.spawnTied(argv: argv, environment: environment, tie: ChildProcess.Tie(deathSignal: deathSignal)))
    }

    /// Signals the worker itself (through the pidfd: no pid-reuse window).
    func signal(_ sig: Int32) { child.signal(sig) }

    /// Signals the worker's whole process group (the worker and anything it started).
    func signalGroup(_ sig: Int32) { child.signalGroup(sig) }

    /// Reaps the worker if it has exited: its exit, or nil while it runs (or was reaped already).
    func reap() -> WorkerExit? { child.reap().map { WorkerExit(waitStatus: $0) } }

    /// Closes the pidfd; call it after the reactor stopped watching it.
    func closePidfd() { child.closePidfd() }
}
