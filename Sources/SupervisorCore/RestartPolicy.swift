import RobotConfig

/// When to restart a worker that ended on its own (docs/supervisor.md, "States": the restart policy).
///
/// - A run that stayed up at least `minUptime` resets the backoff: its restart is immediate.
/// - After a shorter run the delay is `backoffInitial × backoffMultiplier^n` for the n-th short run
///   in a row (n from 0), capped at `backoffMax`, then scaled by a random factor in `1 ± jitter`
///   (so the delays of markets that fail together spread out, at the cap too).
/// - Restart intensity, like Erlang/OTP: when `maxRestarts` restarts were already decided within the
///   last `restartWindow`, the next failure gives up (`.fatal`) instead of looping.
///
/// A value type with no clock of its own: the caller passes `now` and the random number, so a test
/// walks a minute of restarts in microseconds.
public struct RestartPolicy: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Restart at once (the run was long enough).
        case now
        /// Restart after this many seconds.
        case after(Double)
        /// Too many restarts: `restarts` were decided within the window already.
        case fatal(restarts: Int)
    }

    public var settings: SupervisorSettings
    /// Short runs in a row since the last long one (or the last reset).
    public private(set) var consecutiveShortRuns = 0
    /// When each restart within the window was decided (seconds on the caller's clock).
    public private(set) var recentRestarts: [Double] = []

    public init(settings: SupervisorSettings) { self.settings = settings }

    /// The delay before jitter for the `n`-th short run in a row (n from 0).
    public func baseDelay(shortRuns n: Int) -> Double {
        var delay = settings.backoffInitial
        for _ in 0..<max(0, n) {
            delay *= settings.backoffMultiplier
            if delay >= settings.backoffMax { return settings.backoffMax }
        }
        return min(delay, settings.backoffMax)
    }

    /// Decides about the restart of a run that lasted `uptime` seconds and ended at `now`.
    /// `random` is uniform in 0...1 (0: the shortest delay allowed, 1: the longest).
    public mutating func decide(uptime: Double, now: Double, random: Double) -> Decision {
        recentRestarts.removeAll { $0 <= now - settings.restartWindow }
        if recentRestarts.count >= settings.maxRestarts { return .fatal(restarts: recentRestarts.count) }
        recentRestarts.append(now)
        if uptime >= settings.minUptime {
            consecutiveShortRuns = 0
            return .now
        }
        let base = baseDelay(shortRuns: consecutiveShortRuns)
        consecutiveShortRuns += 1
        let u = min(1, max(0, random))
        return .after(base * (1 + settings.backoffJitter * (2 * u - 1)))
    }

    /// Forgets every restart: an operator's start or restart.
    public mutating func reset() {
        consecutiveShortRuns = 0
        recentRestarts = []
    }
}
