/// When the reactor publishes the dashboard's status document: after a change, but not sooner
/// than `minSpacing` after the last one (a burst of events is one update), and at least every
/// `maxSpacing` (heartbeat ages move on when nothing else does). Pure: time is an input.
struct PublishThrottle: Equatable {
    var minSpacingNanos: Int64 = 150_000_000
    var maxSpacingNanos: Int64 = 1_000_000_000
    /// When the last document was published (monotonic nanoseconds), nil before the first.
    private(set) var lastPublished: Int64?

    /// True when a document is due at `now`, given whether the state `changed` since the last one;
    /// records it as published.
    mutating func due(now: Int64, changed: Bool) -> Bool {
        if let last = lastPublished {
            let since = now - last
            guard (changed && since >= minSpacingNanos) || since >= maxSpacingNanos else { return false }
        }
        lastPublished = now
        return true
    }
}
