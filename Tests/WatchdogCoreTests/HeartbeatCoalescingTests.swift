import Testing

@testable import WatchdogCore

/// When the watchdog's loop rests after a turn of heartbeats only (times in milliseconds written
/// as nanoseconds; the rest is 20 ms, so more than 50 heartbeats a second make a turn rest).
@Suite struct HeartbeatCoalescingTests {
    static func ms(_ m: Int64) -> Int64 { m * 1_000_000 }
    let ms = Self.ms

    /// `perSecond` heartbeats a second, one per turn, for `seconds` from `start`; returns the
    /// rests the turns of the last second asked for.
    func heartbeats(_ c: inout HeartbeatCoalescing, perSecond: Int64, seconds: Int64, from start: Int64 = 0) -> [Int64] {
        var rests: [Int64] = []
        let step = 1000 / perSecond
        for i in 0..<(perSecond * seconds) {
            let t = start + ms(i * step)
            c.heartbeat(now: t)
            let rest = c.turnEnded(now: t, mustAnswer: false)
            if i >= perSecond * (seconds - 1) { rests.append(rest) }
        }
        return rests
    }

    @Test func aFewMarketsNeverRest() {
        var c = HeartbeatCoalescing(now: 0)
        #expect(c.threshold == 50)
        #expect(heartbeats(&c, perSecond: 50, seconds: 3).allSatisfy { $0 == 0 }, "50 heartbeats a second share no wakeup")
    }

    @Test func manyMarketsRestAfterAWholeSecondOfHeartbeats() {
        var c = HeartbeatCoalescing(now: 0)
        // The first second counts: nothing is known of the rate yet.
        #expect(heartbeats(&c, perSecond: 200, seconds: 1).allSatisfy { $0 == 0 })
        #expect(heartbeats(&c, perSecond: 200, seconds: 1, from: ms(1000)).allSatisfy { $0 == ms(20) })
        #expect(c.lastWindowHeartbeats == 200)
    }

    @Test func aTurnWithAnythingElseOrAnAnswerOwedDoesNotRest() {
        var c = HeartbeatCoalescing(now: 0)
        _ = heartbeats(&c, perSecond: 200, seconds: 2)
        let t = ms(2000)
        c.heartbeat(now: t)
        c.other()
        #expect(c.turnEnded(now: t, mustAnswer: false) == 0, "a heartbeat and an event in one turn")
        c.heartbeat(now: t)
        #expect(c.turnEnded(now: t, mustAnswer: true) == 0, "events wait for their snapshot")
        #expect(c.turnEnded(now: t, mustAnswer: false) == 0, "a turn without a heartbeat (a timer, the writer)")
        c.heartbeat(now: t)
        #expect(c.turnEnded(now: t, mustAnswer: false) == ms(20), "the next heartbeats-only turn rests again")
    }

    @Test func restingStopsWhenHeartbeatsThinOrStop() {
        var c = HeartbeatCoalescing(now: 0)
        _ = heartbeats(&c, perSecond: 200, seconds: 2)
        // A second of 20 heartbeats: the turns of the second after it no longer rest.
        #expect(heartbeats(&c, perSecond: 20, seconds: 2, from: ms(2000)).allSatisfy { $0 == 0 })
        // Back to 200 a second for a while, then silence for 3 s: the first heartbeat after it
        // does not rest (the rate of the last whole second is 0).
        _ = heartbeats(&c, perSecond: 200, seconds: 2, from: ms(4000))
        c.heartbeat(now: ms(9000))
        #expect(c.lastWindowHeartbeats == 0)
        #expect(c.turnEnded(now: ms(9000), mustAnswer: false) == 0)
    }
}
