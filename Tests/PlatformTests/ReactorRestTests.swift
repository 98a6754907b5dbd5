import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `restNanos`: after a turn that handled descriptors, the loop rests as long as it is told (never
/// past its next timer) before it looks again, so what became ready meanwhile waits for the rest.
@Suite struct ReactorRestTests {
    /// A loop over two pipes: the handler of `a` reads its byte and makes `b` ready at once; the
    /// first turn asks for `rest`. Returns how long after `a` the loop handled `b`, in nanoseconds,
    /// and whether the timer due `timerAfter` from the start ran.
    func run(rest: Int64, timerAfter: Double?) throws -> (bAfterA: Int64, timerRan: Bool) {
        var a: [Int32] = [-1, -1]
        var b: [Int32] = [-1, -1]
        try #require(pipe(&a) == 0)
        try #require(pipe(&b) == 0)
        defer { for fd in a + b { close(fd) } }
        let loop = try Reactor()
        var aAt: Int64 = 0
        var bAt: Int64 = 0
        var asked = 0
        var timerRan = false
        loop.restNanos = {
            asked += 1
            return asked == 1 ? rest : 0
        }
        loop.watch(a[0]) { _ in
            var byte: UInt8 = 0
            guard Glibc.read(a[0], &byte, 1) == 1 else { return }
            aAt = MonotonicClock.nowNanos()
            var one: UInt8 = 1
            #expect(write(b[1], &one, 1) == 1)
        }
        loop.watch(b[0]) { _ in
            var byte: UInt8 = 0
            guard Glibc.read(b[0], &byte, 1) == 1 else { return }
            bAt = MonotonicClock.nowNanos()
            loop.stop()
        }
        if let timerAfter { loop.schedule(afterSeconds: timerAfter) { timerRan = true } }
        let guardTimer = loop.schedule(afterSeconds: 10) { loop.stop() }
        var one: UInt8 = 1
        #expect(write(a[1], &one, 1) == 1)
        loop.run()
        loop.cancel(guardTimer)
        loop.unwatch(a[0])
        loop.unwatch(b[0])
        try #require(aAt > 0 && bAt > 0, "both pipes were read (a at \(aAt), b at \(bAt))")
        return (bAt - aAt, timerRan)
    }

    @Test func whatBecomesReadyDuringARestWaitsForItsEnd() throws {
        let r = try run(rest: 100_000_000, timerAfter: nil)
        #expect(r.bAfterA >= 100_000_000, "b was read \(r.bAfterA) ns after a, within the 100 ms rest")
    }

    @Test func aRestEndsAtTheNextTimer() throws {
        // A 5 s rest with a timer due at 50 ms: the loop looks again when the timer is due.
        let r = try run(rest: 5_000_000_000, timerAfter: 0.05)
        #expect(r.bAfterA < 4_000_000_000, "b was read \(r.bAfterA) ns after a: the rest went past the timer")
        #expect(r.bAfterA >= 40_000_000, "b was read \(r.bAfterA) ns after a: the loop did not rest")
    }
}
