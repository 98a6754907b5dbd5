import Testing

@testable import WatchdogCore

/// The snapshot's group commit under an injected clock: no thread, no file, no timer. Times are
/// milliseconds written as nanoseconds (`ms`); `Held` is a label naming the write.
@Suite struct GroupCommitTests {
    typealias Commit = GroupCommit<String>

    static func ms(_ m: Int64) -> Int64 { m * 1_000_000 }
    let ms = Self.ms

    /// A 50 ms snapshot interval: lazy changes wait 2 s, a failed save is retried after 1 s.
    func machine(intervalSeconds: Double = 0.05) -> Commit {
        Commit(settings: .init(intervalSeconds: intervalSeconds))
    }

    func timers(_ actions: [Commit.Action]) -> [Int64?] {
        actions.compactMap { if case .timer(let at) = $0 { return .some(at) } else { return nil } }
    }

    func encodes(_ actions: [Commit.Action]) -> Bool { actions.contains { if case .encode = $0 { true } else { false } } }

    func acknowledged(_ actions: [Commit.Action]) -> [String] {
        actions.compactMap { if case .acknowledge(let h) = $0 { return h } else { return nil } }
    }

    /// Marks dirty at `t`, fires the timer at its due time, encodes (taking `encode`) and begins
    /// writing `held`; returns when the encoding began.
    @discardableResult
    func saveAtTimer(_ c: inout Commit, _ held: String, dirtyAt t: Int64, encode: Int64 = 1_000) -> Int64 {
        _ = c.markDirty(now: t)
        let due = c.due!
        #expect(encodes(c.timerFired(now: due)))
        c.began(held, at: due, took: encode)
        return due
    }

    @Test func aCleanMachineDoesNothing() {
        var c = machine()
        #expect(c.idle(now: ms(1)).isEmpty)
        #expect(c.timerFired(now: ms(1)).isEmpty)
        #expect(c.written(now: ms(1)).isEmpty)
        #expect(c.pending == .clean && c.due == nil)
    }

    @Test func appliedEventsAreSavedWithinTheIntervalAndAckedOnlyOnceWritten() {
        var c = machine()
        #expect(timers(c.markDirty(now: ms(10))) == [ms(60)])
        // More input sooner does not put the save off: it stays due at 60 ms.
        #expect(c.markDirty(now: ms(30)).isEmpty)
        #expect(c.due == ms(60))
        let fired = c.timerFired(now: ms(60))
        #expect(encodes(fired) && timers(fired).isEmpty) // the fired timer is gone: nothing to disarm
        c.began("first", at: ms(60), took: 1_000)
        #expect(c.isWriting && c.pending == .clean)
        // Nothing is acked while the write is in flight.
        #expect(c.idle(now: ms(61)).isEmpty)
        #expect(acknowledged(c.written(now: ms(62))) == ["first"])
        #expect(!c.isWriting && c.due == nil)
    }

    @Test func idleInputIsSavedAtOnceButOnlyForEventsNotForLazyChanges() {
        var c = machine()
        #expect(!c.wantsIdle, "clean: the shell does not even look for an idle moment")
        _ = c.markDirty(lazily: true, now: ms(0))
        #expect(c.due == ms(2000))
        #expect(!c.wantsIdle, "a heartbeat's change waits for its timer, not for an idle moment")
        #expect(c.idle(now: ms(1)).isEmpty)
        _ = c.markDirty(now: ms(2))
        #expect(c.due == ms(52))
        #expect(c.wantsIdle, "an applied event waits for its ack: the next idle moment saves it")
        let idle = c.idle(now: ms(3))
        #expect(encodes(idle) && timers(idle) == [nil])
        c.began("a", at: ms(3), took: ms(1))
        #expect(!c.wantsIdle, "saved: nothing waits for an idle moment")
    }

    @Test func aLongIntervalAlsoBoundsLazyChanges() {
        var c = machine(intervalSeconds: 5)
        _ = c.markDirty(lazily: true, now: 0)
        #expect(c.due == ms(5000))
    }

    @Test func noSaveBeginsSoonerThanTenEncodingsAfterTheLastBegan() {
        var c = machine()
        // An encoding that took 20 ms: the next may begin 200 ms after it began, not sooner.
        let began = saveAtTimer(&c, "a", dirtyAt: ms(0), encode: ms(20))
        _ = c.written(now: began + ms(5))
        _ = c.markDirty(now: began + ms(10))
        let idle = c.idle(now: began + ms(11))
        #expect(!encodes(idle) && timers(idle) == [began + ms(200)])
        // The interval's timer would fire at +60 ms; the spacing put it at +200 ms.
        #expect(c.due == began + ms(200))
        #expect(encodes(c.timerFired(now: began + ms(200))))
    }

    @Test func theWritersCPUTimeCountsInTheSpacingLikeTheEncoding() {
        var c = machine()
        // A 2 ms encoding whose write cost the writer thread 18 ms of CPU: the next save may begin
        // 10 x 20 ms after the last began, however soon events wait for an idle moment.
        let began = saveAtTimer(&c, "a", dirtyAt: ms(0), encode: ms(2))
        #expect(acknowledged(c.written(now: began + ms(25), writeCPU: ms(18))) == ["a"])
        _ = c.markDirty(now: began + ms(30))
        let idle = c.idle(now: began + ms(31))
        #expect(!encodes(idle) && timers(idle) == [began + ms(200)])
        #expect(encodes(c.timerFired(now: began + ms(200))))
    }

    @Test func underConstantInputSavesComeAtTheInterval() {
        var c = machine()
        var begins: [Int64] = []
        var t: Int64 = 0
        while t < ms(500) {
            for a in c.markDirty(now: t) { _ = a }
            if let due = c.due, due <= t + ms(1) {
                if encodes(c.timerFired(now: due)) {
                    c.began("w\(begins.count)", at: due, took: 1_000)
                    begins.append(due)
                    _ = c.written(now: due + ms(1))
                }
            }
            t += ms(1)
        }
        // Every millisecond an event, no idle moment: one save per 50 ms.
        #expect(begins.count >= 9 && begins.count <= 10)
        for (a, b) in zip(begins, begins.dropFirst()) { #expect(b - a >= ms(50) && b - a <= ms(52)) }
    }

    @Test func aSaveAskedForDuringAWriteFollowsWhenItEnds() {
        var c = machine()
        let began = saveAtTimer(&c, "a", dirtyAt: 0)
        _ = c.markDirty(now: began + ms(1))
        let idle = c.idle(now: began + ms(2))
        // Busy: no encoding, no timer; it waits for the write.
        #expect(!encodes(idle) && timers(idle) == [nil] && c.due == nil)
        let written = c.written(now: began + ms(3))
        #expect(acknowledged(written) == ["a"] && encodes(written))
        c.began("b", at: began + ms(3), took: 1_000)
        #expect(acknowledged(c.written(now: began + ms(4))) == ["b"])
    }

    @Test func aFailedWriteIsRetriedEverySecondAndOwesItsAcksAgain() {
        var c = machine()
        let began = saveAtTimer(&c, "a", dirtyAt: 0)
        let failed = c.writeFailed(now: began + ms(1))
        #expect(timers(failed) == [began + ms(1001)])
        #expect(failed.contains { if case .failed(owed: "a") = $0 { true } else { false } })
        #expect(c.isFailing && c.pending == .dirty(until: began + ms(1001), eventsWaiting: true))
        // While failing, idle moments do not save; only the retry does.
        _ = c.markDirty(lazily: true, now: began + ms(2))
        #expect(c.idle(now: began + ms(3)).isEmpty)
        #expect(encodes(c.timerFired(now: began + ms(1001))))
        c.began("a2", at: began + ms(1001), took: 1_000)
        // Still failing until a write succeeds: idle does not save meanwhile.
        _ = c.markDirty(now: began + ms(1002))
        #expect(c.isFailing && c.idle(now: began + ms(1003)).isEmpty)
        let again = c.writeFailed(now: began + ms(1004))
        #expect(timers(again).isEmpty && c.due == began + ms(1052)) // the interval's save came sooner
        #expect(encodes(c.timerFired(now: began + ms(1052))))
        c.began("a3", at: began + ms(1052), took: 1_000)
        #expect(acknowledged(c.written(now: began + ms(1053))) == ["a3"])
        #expect(!c.isFailing && c.pending == .clean)
    }

    @Test func aFailedEncodingIsRetriedLikeAFailedWrite() {
        var c = machine()
        _ = c.markDirty(now: 0)
        #expect(encodes(c.timerFired(now: ms(50))))
        let failed = c.encodeFailed(now: ms(50))
        #expect(failed.contains { if case .failed(owed: nil) = $0 { true } else { false } })
        #expect(timers(failed) == [ms(1050)] && c.isFailing)
    }

    @Test func aWriteSlowerThanFiveSecondsIsReportedOnceAndWhenItEnds() {
        var c = machine()
        let began = saveAtTimer(&c, "a", dirtyAt: 0)
        _ = c.markDirty(now: began + ms(100))
        #expect(!c.timerFired(now: began + ms(150)).contains { if case .slowWrite = $0 { true } else { false } })
        _ = c.markDirty(now: began + ms(5_900))
        let slow = c.timerFired(now: began + ms(6_000))
        #expect(slow.contains { if case .slowWrite(seconds: 6) = $0 { true } else { false } })
        _ = c.markDirty(now: began + ms(6_100))
        #expect(!c.timerFired(now: began + ms(7_000)).contains { if case .slowWrite = $0 { true } else { false } })
        let done = c.written(now: began + ms(8_000))
        #expect(done.contains { if case .slowWriteFinished(millis: 8_000) = $0 { true } else { false } })
        #expect(acknowledged(done) == ["a"])
    }

    @Test func aTimerThatFiredIsArmedAgainEvenForTheMomentItWasArmedFor() {
        var c = machine()
        // The last encoding took 5.1 ms, so the next may begin 51 ms after it began: the very moment
        // the interval's timer is due.
        let began = saveAtTimer(&c, "a", dirtyAt: 0, encode: ms(5) + 100_000)
        _ = c.written(now: began + ms(1))
        _ = c.markDirty(now: began + ms(1))
        #expect(c.due == began + ms(51))
        // Had it fired a little early, the spacing puts it off to that same moment: the timer that
        // fired is gone, so it is armed again.
        let fired = c.timerFired(now: began + ms(49))
        #expect(!encodes(fired) && timers(fired) == [began + ms(51)])
    }
}
