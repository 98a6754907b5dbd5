import Testing

@testable import WatchdogCore

/// The dashboard's publishing throttle: at most every 150 ms after changes, at least every second.
@Suite struct PublishThrottleTests {
    let ms: Int64 = 1_000_000

    @Test func firstIsAlwaysDue() {
        var t = PublishThrottle()
        let r1 = t.due(now: 5 * ms, changed: false)
        #expect(r1)
    }

    @Test func changesAreCoalescedToOneEvery150ms() {
        var t = PublishThrottle()
        let r2 = t.due(now: 0, changed: true)
        #expect(r2)
        let r101 = t.due(now: 50 * ms, changed: true)
        #expect(!r101)
        let r102 = t.due(now: 149 * ms, changed: true)
        #expect(!r102)
        let r3 = t.due(now: 150 * ms, changed: true)
        #expect(r3)
        let r103 = t.due(now: 200 * ms, changed: true)
        #expect(!r103)
    }

    @Test func withoutChangesOncePerSecond() {
        var t = PublishThrottle()
        let r4 = t.due(now: 0, changed: false)
        #expect(r4)
        let r104 = t.due(now: 500 * ms, changed: false)
        #expect(!r104)
        let r105 = t.due(now: 999 * ms, changed: false)
        #expect(!r105)
        let r5 = t.due(now: 1000 * ms, changed: false)
        #expect(r5)
        #expect(t.lastPublished == 1000 * ms)
    }
}
