/// When the watchdog's loop rests between wakeups, as a pure rule (monotonic nanoseconds in, a
/// rest out; `HeartbeatCoalescingTests`).
///
/// At rest nearly every wakeup is one market's heartbeat: 200 markets at 1 s heartbeats woke the
/// loop about 240 times a second, and the wakeup (the context switch, `epoll_wait`, the read) cost
/// more than the heartbeat. So after a turn of the loop that handled heartbeats and nothing else,
/// while heartbeats arrive faster than one per `rest` (over the last whole second), the loop rests
/// `rest` before it looks at its sockets again, and reads the heartbeats that came meanwhile in one
/// wakeup (docs/watchdog.md, "Heartbeats").
///
/// It never rests after a turn that handled anything else (an event, a hello, an operator's
/// request, a connection opened or closed), nor while events wait for their snapshot or a snapshot
/// is being written (their acks would wait), nor with a few markets (their heartbeats are too
/// sparse to share a wakeup). What a rest can delay: a line that arrives during one is read up to
/// `rest` later (20 ms), only while heartbeats of many markets arrive.
struct HeartbeatCoalescing {
    /// How long the loop rests after a heartbeats-only turn: 20 ms.
    static let defaultRest: Int64 = 20_000_000

    let rest: Int64
    /// Heartbeats counted in the current one-second window, and when it began.
    private var windowStart: Int64
    private var inWindow = 0
    /// Heartbeats of the last whole window (0 when the last window ended more than a second ago).
    private(set) var lastWindowHeartbeats = 0
    /// This turn handled heartbeats, and whether it handled anything else.
    private var turnHeartbeats = 0
    private var turnOther = false

    init(rest: Int64 = Self.defaultRest, now: Int64) {
        self.rest = rest
        windowStart = now
    }

    /// Heartbeats per second above which a heartbeats-only turn rests: more than one per `rest`.
    var threshold: Int { Int(1_000_000_000 / max(1, rest)) }

    /// The turn handled a heartbeat.
    mutating func heartbeat(now: Int64) {
        roll(now)
        inWindow += 1
        turnHeartbeats += 1
    }

    /// The turn handled something other than a heartbeat.
    mutating func other() { turnOther = true }

    /// The turn ended: how long the loop rests before it looks again (0: not at all). `mustAnswer`:
    /// events wait for their snapshot or a snapshot is being written.
    mutating func turnEnded(now: Int64, mustAnswer: Bool) -> Int64 {
        defer {
            turnHeartbeats = 0
            turnOther = false
        }
        roll(now)
        guard turnHeartbeats > 0, !turnOther, !mustAnswer, lastWindowHeartbeats > threshold else { return 0 }
        return rest
    }

    private mutating func roll(_ now: Int64) {
        let elapsed = now - windowStart
        guard elapsed >= 1_000_000_000 else { return }
        lastWindowHeartbeats = elapsed < 2_000_000_000 ? inWindow : 0
        inWindow = 0
        windowStart = elapsed < 2_000_000_000 ? windowStart + 1_000_000_000 : now
    }
}
