import Foundation
import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A clock the test sets; read by the reactor on its own thread (the test's).
private final class TestClock: @unchecked Sendable {
    var nanos: Int64 = 0
}

@Suite("Reactor with an injected clock")
struct ReactorClockTests {
    /// Runs `loop` until it stops, failing (and stopping it) if that takes more than a few real
    /// seconds: a pipe written from another thread wakes the loop for the verdict.
    private func run(_ loop: Reactor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        var timedOut = false
        loop.watch(fds[0]) { _ in
            timedOut = true
            loop.stop()
        }
        let writeEnd = fds[1]
        let ended = DispatchSemaphore(value: 0)
        let guardDone = DispatchSemaphore(value: 0)
        Thread {
            if ended.wait(timeout: .now() + 5) == .timedOut {
                var byte: UInt8 = 1
                _ = write(writeEnd, &byte, 1)
            }
            guardDone.signal()
        }.start()
        loop.run()
        ended.signal()
        // The pipe is closed only once the guard thread can no longer write to it.
        guardDone.wait()
        loop.unwatch(fds[0])
        #expect(!timedOut, "the loop ran for 5 s of real time", sourceLocation: sourceLocation)
    }

    @Test("a timer an hour away fires as soon as the injected clock reaches it, without waiting")
    func injectedClockDrivesTimers() throws {
        let clock = TestClock()
        clock.nanos = 1_000
        let loop = try Reactor(clock: { clock.nanos })
        #expect(loop.nowNanos == 1_000)
        var firedAt: Int64?
        loop.schedule(afterSeconds: 3600) {
            firedAt = clock.nanos
            loop.stop()
        }
        loop.schedule(afterNanos: 0) { clock.nanos += 3_600_000_000_000 }
        let started = Date()
        try run(loop)
        #expect(firedAt == 3_600_000_001_000)
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test("due timers run earliest first; a cancelled one and one not yet due do not run")
    func dueOrderAndCancel() throws {
        let clock = TestClock()
        let loop = try Reactor(clock: { clock.nanos })
        var ran: [String] = []
        loop.schedule(afterNanos: 300) { ran.append("c") }
        loop.schedule(afterNanos: 100) { ran.append("a") }
        let cancelled = loop.schedule(afterNanos: 150) { ran.append("cancelled") }
        loop.schedule(afterNanos: 200) { ran.append("b") }
        loop.schedule(afterNanos: 10_000_000_000_000) { ran.append("not yet") }
        loop.cancel(cancelled)
        loop.schedule(afterNanos: 0) {
            clock.nanos = 1_000
            // Runs on the next pass, after the timers due at 1 000 ns.
            loop.schedule(afterNanos: 0) { loop.stop() }
        }
        try run(loop)
        #expect(ran == ["a", "b", "c"])
    }

    @Test("without an injected clock timers follow the monotonic clock")
    func monotonicByDefault() throws {
        let loop = try Reactor()
        let before = MonotonicClock.nowNanos()
        let now = loop.nowNanos
        #expect(now >= before && now <= MonotonicClock.nowNanos())
        var firedAfter: Int64?
        loop.schedule(afterNanos: 20_000_000) {
            firedAfter = MonotonicClock.nowNanos() - now
            loop.stop()
        }
        try run(loop)
        let elapsed = try #require(firedAfter)
        #expect(elapsed >= 20_000_000)
    }
}
