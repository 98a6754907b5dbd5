import Platform
import Testing

@Suite("ManualReactor")
struct ManualReactorTests {
    @Test("a timer fires when time reaches its deadline, not before, with the clock at its deadline")
    func firesAtDeadline() {
        let loop = ManualReactor(nowNanos: 1_000)
        var firedAt: [Int64] = []
        loop.schedule(afterNanos: 500) { firedAt.append(loop.nowNanos) }
        loop.advance(byNanos: 499)
        #expect(firedAt.isEmpty)
        #expect(loop.nowNanos == 1_499)
        loop.advance(byNanos: 1_000)
        #expect(firedAt == [1_500])
        #expect(loop.nowNanos == 2_499)
        #expect(!loop.hasTimers)
    }

    @Test("an hour of a one-second repeating timer runs in one advance, each run at its own time")
    func repeating() {
        let loop = ManualReactor()
        var runs: [Int64] = []
        func ping() {
            runs.append(loop.nowNanos)
            loop.schedule(afterSeconds: 1, ping)
        }
        loop.schedule(afterSeconds: 1, ping)
        loop.advance(bySeconds: 3600)
        #expect(runs.count == 3600)
        #expect(runs.first == 1_000_000_000)
        #expect(runs.last == 3_600_000_000_000)
        #expect(zip(runs, runs.dropFirst()).allSatisfy { $1 - $0 == 1_000_000_000 })
    }

    @Test("timers run in deadline order, equal deadlines in the order they were scheduled")
    func order() {
        let loop = ManualReactor()
        var order: [String] = []
        loop.schedule(afterNanos: 30) { order.append("c") }
        loop.schedule(afterNanos: 10) { order.append("a1") }
        loop.schedule(afterNanos: 20) { order.append("b") }
        loop.schedule(afterNanos: 10) { order.append("a2") }
        loop.advance(byNanos: 100)
        #expect(order == ["a1", "a2", "b", "c"])
    }

    @Test("a cancelled timer never runs; cancelling one that ran does nothing")
    func cancel() {
        let loop = ManualReactor()
        var ran: [String] = []
        let first = loop.schedule(afterNanos: 10) { ran.append("first") }
        let second = loop.schedule(afterNanos: 20) { ran.append("second") }
        loop.cancel(second)
        loop.advance(byNanos: 50)
        loop.cancel(first)
        #expect(ran == ["first"])
        // A timer may cancel a later one.
        var later: Reactor.TimerID?
        loop.schedule(afterNanos: 5) { if let later { loop.cancel(later) } }
        later = loop.schedule(afterNanos: 6) { ran.append("later") }
        loop.advance(byNanos: 10)
        #expect(ran == ["first"])
    }

    @Test("runDue runs the timers scheduled without delay and leaves the clock where it is")
    func runDue() {
        let loop = ManualReactor(nowNanos: 42)
        var ran = 0
        loop.schedule(afterNanos: 0) { ran += 1 }
        loop.schedule(afterNanos: -5) { ran += 1 }
        loop.schedule(afterNanos: 1) { ran += 100 }
        loop.runDue()
        #expect(ran == 2)
        #expect(loop.nowNanos == 42)
    }

    @Test("onIdle runs when the test says the loop is idle")
    func idle() {
        let loop = ManualReactor()
        var idles = 0
        loop.onIdle = { idles += 1 }
        loop.runIdle()
        loop.runIdle()
        #expect(idles == 2)
    }

    @Test("code written against TimerScheduling runs on the manual loop")
    func throughTheProtocol() {
        let loop = ManualReactor()
        let scheduler: any TimerScheduling = loop
        var fired = false
        scheduler.schedule(afterSeconds: 25 * 3600) { fired = true }
        loop.advance(bySeconds: 25 * 3600 - 0.001)
        #expect(!fired)
        loop.advance(bySeconds: 0.001)
        #expect(fired)
    }
}
