import Wire

/// Never trading unobserved (docs/robot-worker.md, "Unobserved: WATCHDOG_UNREACHABLE"): whether
/// the watchdog has answered this worker (a welcome or an ack) within `safety.unobserved_seconds`.
///
/// A worker past the limit holds `OBSERVE_ONLY` with reason `WATCHDOG_UNREACHABLE`: new orders are
/// refused, cancels go through. It is not a latch: the first answer ends it, and the worker returns
/// to `AGGRESSIVE` unless a latch holds it. The start of the run counts as an answer, so a worker
/// has the whole limit to reach its watchdog, and a watchdog restart shorter than the limit
/// (socket activation keeps the socket; the link reconnects within `worker.reconnect_max_seconds`)
/// changes nothing.
///
/// Pure: times are monotonic seconds passed in (a wall-clock step never makes the watchdog look
/// silent or alive).
public struct WatchdogObservation: Sendable, Equatable {
    /// The reason code of the mode change, in `SYSTEM_MODE_CHANGE.reason`, the status line and metrics.
    public static let reasonCode = "WATCHDOG_UNREACHABLE"

    /// A change of the worker's observed state.
    public enum Change: Sendable, Equatable {
        /// No answer for `silentSeconds`, past the limit: hold OBSERVE_ONLY.
        case unobserved(silentSeconds: Double, limitSeconds: Double)
        /// The watchdog answered again after `silentSeconds` of silence.
        case observed(silentSeconds: Double)

        /// The text of the mode change this causes.
        public var reason: String {
            switch self {
            case .unobserved(let silent, let limit):
                return "\(WatchdogObservation.reasonCode): no answer from the watchdog for \(SecondsText.compact(silent)) s "
                    + "(limit safety.unobserved_seconds \(SecondsText.compact(limit)) s); new orders refused, cancels allowed"
            case .observed(let silent):
                return "the watchdog answers again after \(SecondsText.compact(silent)) s without an answer"
            }
        }
    }

    /// nil: the rule is off (`safety.trade_without_watchdog`).
    public let limitSeconds: Double?
    /// When the watchdog last answered (or the run started), monotonic seconds.
    public private(set) var lastAnswer: Double
    /// True while past the limit with no answer since.
    public private(set) var unobserved = false

    public init(limitSeconds: Double?, startedAt: Double) {
        self.limitSeconds = limitSeconds
        lastAnswer = startedAt
    }

    /// The watchdog answered at `now`: `.observed` if that ends an unobserved period.
    public mutating func answered(at now: Double) -> Change? {
        let silent = now - lastAnswer
        lastAnswer = max(lastAnswer, now)
        guard unobserved else { return nil }
        unobserved = false
        return .observed(silentSeconds: silent)
    }

    /// `.unobserved` once, when the silence at `now` first exceeds the limit.
    public mutating func evaluate(now: Double) -> Change? {
        guard let limit = limitSeconds, !unobserved else { return nil }
        let silent = now - lastAnswer
        guard silent > limit else { return nil }
        unobserved = true
        return .unobserved(silentSeconds: silent, limitSeconds: limit)
    }

    /// Seconds since the last answer at `now`.
    public func silentSeconds(now: Double) -> Double { now - lastAnswer }

    /// The mode a worker that would otherwise be in `mode` may hold: AGGRESSIVE becomes
    /// OBSERVE_ONLY while unobserved; every other mode stands.
    public func cap(_ mode: SystemMode) -> SystemMode { unobserved && mode == .aggressive ? .observeOnly : mode }
}
