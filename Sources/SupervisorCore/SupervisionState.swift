/// Where a market's worker is in its life under the supervisor (docs/supervisor.md, "States").
///
/// ```
///  STOPPED ──start──▶ STARTING ──READY=1──▶ RUNNING
///                        │  ▲                  │ exit, start or watchdog timeout
///                        │  └──── BACKOFF ◀────┤ (delay from the restart policy)
///                        │                     ├──▶ FATAL    (restart intensity exceeded)
///                        └─────────────────────┴──▶ BLOCKED  (exit 100: another executor holds the market)
///  any live state ──stop──▶ STOPPING ──exit──▶ STOPPED
/// ```
/// BLOCKED and FATAL are left only by an operator's `start` (or `restart`).
public enum SupervisionState: String, Codable, Sendable, CaseIterable {
    /// Spawned, waiting for `READY=1`.
    case starting = "STARTING"
    /// Ready, pinging its watchdog.
    case running = "RUNNING"
    /// Exited; waiting out the restart delay.
    case backoff = "BACKOFF"
    /// Asked to end (SIGTERM, or SIGABRT from the watchdog, or SIGKILL); waiting for the exit.
    case stopping = "STOPPING"
    /// Not running, and not meant to.
    case stopped = "STOPPED"
    /// The worker exited 100 (another executor holds the market): never restarted automatically.
    case blocked = "BLOCKED"
    /// Restarted too often within the window: no more restarts until an operator starts it.
    case fatal = "FATAL"

    /// True for the states a market stays in until something from outside happens.
    public var isSettled: Bool { self == .running || self == .stopped || self == .blocked || self == .fatal }
}
