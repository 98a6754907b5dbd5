/// One destination's queue of alert notices waiting for delivery: a pure value (time is passed
/// in), persisted by `AlertQueueFile` and driven by `AlertSinkWorker`.
///
/// - Bounded: beyond `capacity` the oldest notices go, and `dropped` counts them.
/// - De-duplicated by alert ID and status: a notice whose key is queued replaces the queued one in
///   its place (the newer text wins; the receiver sees the alert once).
/// - In order: the head is delivered first (a firing notice before its resolution); a failure
///   puts the next attempt off by `retryInitial` doubling per failure up to `retryMax`.
struct AlertOutbox: Sendable, Equatable {
    private(set) var notices: [AlertNotice] = []
    let capacity: Int
    /// Notices dropped because the queue was full, since start.
    private(set) var dropped: Int64 = 0
    /// Failed attempts since the last success.
    private(set) var failures = 0
    /// When the head may be tried again (monotonic nanoseconds); 0: now.
    private(set) var nextAttemptNanos: Int64 = 0

    init(capacity: Int, notices: [AlertNotice] = []) {
        precondition(capacity >= 1)
        self.capacity = capacity
        for n in notices { add(n) }
        dropped = 0
    }

    var isEmpty: Bool { notices.isEmpty }
    var count: Int { notices.count }

    /// Queues `notice` (see the type). Returns how many notices were dropped to make room.
    @discardableResult
    mutating func add(_ notice: AlertNotice) -> Int {
        if let i = notices.firstIndex(where: { $0.key == notice.key }) {
            notices[i] = notice
            return 0
        }
        notices.append(notice)
        let over = notices.count - capacity
        guard over > 0 else { return 0 }
        notices.removeFirst(over)
        dropped += Int64(over)
        return over
    }

    /// The first `limit` notices, when an attempt is due at `now`.
    func due(now: Int64, limit: Int) -> [AlertNotice] {
        guard !notices.isEmpty, now >= nextAttemptNanos else { return [] }
        return Array(notices.prefix(limit))
    }

    /// The attempt with `batch` succeeded: those notices leave (those still queued under their
    /// key and unchanged; a notice replaced meanwhile stays for its own delivery).
    mutating func delivered(_ batch: [AlertNotice]) {
        for n in batch {
            if let i = notices.firstIndex(where: { $0.key == n.key }), notices[i] == n { notices.remove(at: i) }
        }
        failures = 0
        nextAttemptNanos = 0
    }

    /// The attempt failed at `now`: the next one waits `retryInitial * 2^(failures-1)`, at most
    /// `retryMax` (seconds). Returns that delay.
    @discardableResult
    mutating func failed(now: Int64, retryInitial: Double, retryMax: Double) -> Double {
        failures += 1
        let delay = Self.backoff(failures: failures, initial: retryInitial, max: retryMax)
        nextAttemptNanos = now + Int64(delay * 1e9)
        return delay
    }

    static func backoff(failures: Int, initial: Double, max: Double) -> Double {
        guard failures > 0 else { return 0 }
        let doubled = initial * Double(1 << Swift.min(failures - 1, 30))
        return Swift.min(doubled, max)
    }
}
