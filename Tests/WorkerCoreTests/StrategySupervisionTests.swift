import RobotConfig
import Testing

@testable import WorkerCore

/// The strategy's liveness, restarts and the fail-safe, with time passed in.
@Suite struct StrategySupervisionTests {
    func make(heartbeat: Double = 2, maxCrashes: Int = 2, window: Double = 60, rejections: Int = 3) -> StrategySupervision {
        var spec = StrategySpec(command: ["s"], workingDirectory: "/", heartbeatSeconds: heartbeat)
        spec.restart.backoffInitialSeconds = 1
        spec.restart.backoffMaxSeconds = 4
        spec.restart.maxCrashes = maxCrashes
        spec.restart.crashWindowSeconds = window
        spec.limits.maxRejectionsPerMinute = rejections
        return StrategySupervision(spec: spec)
    }

    @Test func startsOnceActiveAndIsHungAfterHeartbeatSecondsOfSilence() {
        var s = make()
        #expect(s.activate(now: 0) == [.start])
        s.started(now: 0)
        #expect(s.activate(now: 0) == [])
        #expect(s.ready(now: 0.5) == [])
        #expect(s.isReady)
        s.message(now: 1)
        #expect(s.evaluate(now: 3) == []) // exactly 2 s: not yet
        guard case .kill(let reason) = s.evaluate(now: 3.5).first else {
            Issue.record("not killed")
            return
        }
        #expect(reason.contains("sent nothing for 2.5 s (limit strategy.heartbeat_seconds 2 s)"))
        #expect(s.evaluate(now: 10) == []) // killed once; the exit is awaited
    }

    @Test func aCrashHoldsObserveOnlyUntilARestartedStrategySaysReady() {
        var s = make()
        _ = s.activate(now: 0)
        s.started(now: 0)
        _ = s.ready(now: 0)
        let actions = s.exited(now: 5, why: "exited with status 1")
        #expect(actions.count == 1)
        guard case .hold(let reason) = actions.first else {
            Issue.record("no hold: \(actions)")
            return
        }
        #expect(reason.contains("STRATEGY_MISBEHAVING: the strategy exited with status 1"))
        #expect(s.phase == .backingOff(until: 6))
        #expect(s.evaluate(now: 5.9) == [])
        #expect(s.evaluate(now: 6) == [.start])
        s.started(now: 6)
        #expect(s.ready(now: 6.1) == [.release])
        #expect(!s.holding)
    }

    @Test func restartsBackOffDoublingUpToTheMaximum() {
        var s = make(maxCrashes: 100)
        _ = s.activate(now: 0)
        var t = 0.0
        var waits: [Double] = []
        for _ in 0..<5 {
            s.started(now: t)
            _ = s.exited(now: t, why: "exited")
            guard case .backingOff(let until) = s.phase else { return }
            waits.append(until - t)
            t = until
        }
        #expect(waits == [1, 2, 4, 4, 4])
        s.started(now: t)
        _ = s.ready(now: t)
        _ = s.exited(now: t, why: "exited")
        #expect(s.phase == .backingOff(until: t + 1)) // ready reset the backoff
    }

    @Test func moreThanMaxCrashesInTheWindowLatchOnce() {
        var s = make(maxCrashes: 2, window: 60)
        _ = s.activate(now: 0)
        s.started(now: 0)
        _ = s.exited(now: 0, why: "a")
        s.started(now: 1)
        #expect(s.exited(now: 1, why: "b").isEmpty) // 2 crashes: at the limit, held already
        s.started(now: 3)
        let third = s.exited(now: 3, why: "c")
        guard case .latch(let reason) = third.first else {
            Issue.record("no latch: \(third)")
            return
        }
        #expect(reason.contains("crashed 3 times within 60 s (limit strategy.restart.max_crashes 2)"))
        #expect(s.evaluate(now: 1000) == []) // stopped: no more starts
        #expect(s.latchCleared(now: 1000) == [.start])
    }

    @Test func crashesOutsideTheWindowDoNotCount() {
        var s = make(maxCrashes: 1, window: 10)
        _ = s.activate(now: 0)
        s.started(now: 0)
        _ = s.exited(now: 0, why: "a")
        s.started(now: 20)
        #expect(!s.exited(now: 20, why: "b").contains { if case .latch = $0 { return true } else { return false } })
    }

    @Test func moreThanNRejectionsAMinuteLatchOnceOnly() {
        var s = make(rejections: 3)
        for t in [0.0, 1, 2] { #expect(s.rejected(now: t) == []) }
        guard case .latch(let reason) = s.rejected(now: 3).first else {
            Issue.record("no latch")
            return
        }
        #expect(reason.contains("4 rejected orders or malformed lines within 60 s (limit strategy.limits.max_rejections_per_minute 3)"))
        #expect(s.rejected(now: 4) == [])
        var slow = make(rejections: 3)
        for t in [0.0, 20, 40, 60, 80] { #expect(slow.rejected(now: t) == []) }
    }

    @Test func deactivatedItStartsAgainOnTheNextActivationWithoutACrash() {
        var s = make()
        _ = s.activate(now: 0)
        s.started(now: 0)
        s.deactivate()
        #expect(s.phase == .idle && s.crashes.isEmpty && !s.holding)
        #expect(s.evaluate(now: 100) == [])
        #expect(s.activate(now: 100) == [.start])
    }
}
