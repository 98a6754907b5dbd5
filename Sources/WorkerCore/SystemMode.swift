/// What a worker may do (docs/robot-worker.md, "Modes, health and the fail-safe").
public enum SystemMode: String, Sendable, Codable, CaseIterable {
    /// May execute.
    case aggressive = "AGGRESSIVE"
    /// No new orders; cancels still go through.
    case observeOnly = "OBSERVE_ONLY"
    /// Latched after a fail-safe trigger: no new orders until an operator clears the latch.
    case shutdown = "SHUTDOWN"

    /// True when new orders may be placed.
    public var mayExecute: Bool { self == .aggressive }
}
