/// What the pure market state machine asks its shell to do. The shell carries the actions out in
/// order and reports results back as events (`spawned`, `spawnFailed`, `exited`).
public enum SupervisorAction: Sendable, Equatable {
    /// Start the market's worker now; answer with `spawned(pid:now:)` or `spawnFailed`.
    case spawn
    /// Send a signal to the worker process itself (through its pidfd).
    case signalWorker(Int32)
    /// Send a signal to the worker's whole process group (`kill(-pgid, sig)`).
    case signalGroup(Int32)
    /// One state-change line for the log (the shell prefixes `supervisor: `).
    case log(String)
    /// An alert line: the market needs an operator.
    case alert(String)
}
