/// A market's liveness as its heartbeats show it, on the watchdog's own monotonic clock.
public enum HeartbeatState: String, Codable, Sendable {
    /// A heartbeat arrived within `heartbeat_late_intervals` x `heartbeat_interval_seconds`.
    case ok = "OK"
    /// Older than that, not yet `heartbeat_lost_seconds`.
    case late = "LATE"
    /// Nothing for `heartbeat_lost_seconds` or more: a CRITICAL alert is open (when the market
    /// ever sent a heartbeat and did not release its lock cleanly).
    case lost = "LOST"
}

/// When heartbeats count as late and lost, from the configuration's `timings`.
public struct HeartbeatPolicy: Sendable, Equatable {
    public var lateNanos: Int64
    public var lostNanos: Int64

    public init(lateSeconds: Double, lostSeconds: Double) {
        lateNanos = Int64(lateSeconds * 1e9)
        lostNanos = Int64(lostSeconds * 1e9)
    }

    /// The state of a market whose last heartbeat is `ageNanos` old.
    public func state(ageNanos: Int64) -> HeartbeatState {
        if ageNanos >= lostNanos { return .lost }
        if ageNanos >= lateNanos { return .late }
        return .ok
    }
}
