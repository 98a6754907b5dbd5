import CShim

#if canImport(Glibc)
import Glibc
#endif

/// A worker started by the supervisor asks the kernel for SIGTERM when the supervisor dies
/// (PR_SET_PDEATHSIG), so no orphan keeps a market's lock after a `kill -9` of the supervisor.
///
/// The supervisor names itself in `ROBOT_SUPERVISOR_PID`. PR_SET_PDEATHSIG fires when the *thread*
/// that spawned the worker ends; the supervisor spawns from its one reactor thread, the main
/// thread, so that is when the supervisor process ends. Without the variable (systemd, a shell)
/// nothing is asked.
public enum SupervisorParent {
    /// Asks for SIGTERM at the parent's death. Returns nil when all is well, or the reason to exit
    /// at once: the parent already died (the worker was reparented) before the request took effect.
    public static func askForTerminationOnParentDeath(environment: [String: String]) -> String? {
        guard let text = environment["ROBOT_SUPERVISOR_PID"] else { return nil }
        guard let supervisor = Int32(text), supervisor > 0 else {
            return "ROBOT_SUPERVISOR_PID=\(text) is not a pid; expected the supervisor's pid"
        }
        guard cshim_set_parent_death_signal(SIGTERM) == 0 else {
            return "prctl(PR_SET_PDEATHSIG): \(String(cString: strerror(errno)))"
        }
        // Checked after the request, so a parent that dies from here on is covered by the signal.
        let parent = getppid()
        guard parent == supervisor else {
            return "the supervisor (pid \(supervisor)) is gone (parent is now pid \(parent)); exiting before taking the lock"
        }
        return nil
    }
}
