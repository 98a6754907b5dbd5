/// The ceiling on un-acked journal bytes (`worker.journal_max_unacked_bytes`, docs/CONFIG.md):
/// while the watchdog is away the journal keeps every event it has not acked, rotated into
/// segments; past the ceiling the worker holds OBSERVE_ONLY (no new orders, so the journal grows
/// only by its own heartbeats and health) and raises one alert, long before the disk fills. It
/// clears once acks bring the un-acked bytes under 90 % of the ceiling (the margin keeps it from
/// flapping at the line). Pure: byte counts in, changes out.
public struct UnackedCeiling: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case tripped(reason: String)
        case cleared(reason: String)
    }

    public let limit: Int
    public private(set) var over = false

    public init(limit: Int) { self.limit = limit }

    /// Where it clears: 90 % of the limit.
    public var clearBelow: Int { limit - limit / 10 }

    /// Takes the un-acked bytes now; returns a change when the state changes.
    public mutating func observe(unackedBytes bytes: Int) -> Change? {
        if !over, bytes > limit {
            over = true
            return .tripped(
                reason: "\(bytes) un-acked journal bytes are over worker.journal_max_unacked_bytes (\(limit)): "
                    + "the watchdog has not acked this market's events")
        }
        if over, bytes < clearBelow {
            over = false
            return .cleared(reason: "un-acked journal bytes back to \(bytes), under 90 % of worker.journal_max_unacked_bytes (\(limit))")
        }
        return nil
    }
}
