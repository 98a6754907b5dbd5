/// When an identity-invariants result is emitted: at once when it differs from the last one
/// emitted (pass flips or the violation list changes), otherwise at most once per interval.
///
/// Pure: time comes in as monotonic nanoseconds, so the rule is tested without waiting.
public struct InvariantsSchedule: Sendable {
    public let intervalNanos: Int64
    private var last: (violations: [String], at: Int64)?

    public init(intervalNanos: Int64) { self.intervalNanos = intervalNanos }

    /// True when `violations`, checked at `now`, must be emitted; records the emission.
    public mutating func shouldEmit(violations: [String], now: Int64) -> Bool {
        if let last, last.violations == violations, now - last.at < intervalNanos { return false }
        last = (violations, now)
        return true
    }

    /// When the next periodic check is due.
    public func nextCheck(now: Int64) -> Int64 {
        guard let last else { return now }
        return max(now, last.at + intervalNanos)
    }
}
