import Testing

@testable import WorkerCore

/// Never trading unobserved, at its threshold, without processes: times are monotonic seconds.
@Suite struct WatchdogObservationTests {
    @Test func silenceUpToTheLimitIsObservedAndOneTickPastItIsNot() {
        var o = WatchdogObservation(limitSeconds: 120, startedAt: 1000)
        #expect(o.evaluate(now: 1000) == nil)
        #expect(o.evaluate(now: 1120) == nil, "exactly at the limit: still observed")
        #expect(!o.unobserved)
        #expect(o.cap(.aggressive) == .aggressive)
        let change = o.evaluate(now: 1120.001)
        guard case .unobserved(let silent, let limit)? = change else {
            Issue.record("expected .unobserved, got \(String(describing: change))")
            return
        }
        #expect(abs(silent - 120.001) < 1e-6)
        #expect(limit == 120)
        #expect(o.unobserved)
        #expect(o.cap(.aggressive) == .observeOnly)
        let reason = change?.reason ?? ""
        #expect(reason.hasPrefix("WATCHDOG_UNREACHABLE: no answer from the watchdog for 120"), "\(reason)")
        #expect(reason.contains("(limit safety.unobserved_seconds 120 s)"), "\(reason)")
        #expect(o.evaluate(now: 2000) == nil, "reported once, not at every evaluation")
    }

    @Test func everyAnswerRestartsTheSilence() {
        var o = WatchdogObservation(limitSeconds: 10, startedAt: 0)
        #expect(o.answered(at: 9) == nil)
        #expect(o.evaluate(now: 18.9) == nil)
        #expect(o.answered(at: 18.9) == nil)
        #expect(o.evaluate(now: 28.9) == nil)
        #expect(o.evaluate(now: 29) != nil)
    }

    @Test func theFirstAnswerEndsItNoOperatorNeeded() {
        var o = WatchdogObservation(limitSeconds: 2, startedAt: 0)
        #expect(o.evaluate(now: 3) != nil)
        let back = o.answered(at: 7.5)
        #expect(back == .observed(silentSeconds: 7.5))
        #expect(!o.unobserved)
        #expect(o.cap(.aggressive) == .aggressive)
        #expect(o.answered(at: 8) == nil, "only the first answer is a change")
        #expect(o.evaluate(now: 10) == nil)
        #expect(o.evaluate(now: 10.01) != nil, "and the limit runs again from the last answer")
    }

    @Test func aRestartShorterThanTheLimitChangesNothing() {
        // Answers every 10 s, then the watchdog is gone for 100 s of a 120 s limit, then answers.
        var o = WatchdogObservation(limitSeconds: 120, startedAt: 0)
        var changes: [WatchdogObservation.Change] = []
        var t = 0.0
        while t <= 300 {
            let down = t > 50 && t < 150
            if !down, let c = o.answered(at: t) { changes.append(c) }
            if let c = o.evaluate(now: t) { changes.append(c) }
            t += 0.25
        }
        #expect(changes.isEmpty, "\(changes)")
    }

    @Test func turnedOffItNeverHoldsTheWorker() {
        var o = WatchdogObservation(limitSeconds: nil, startedAt: 0)
        #expect(o.evaluate(now: 1e9) == nil)
        #expect(!o.unobserved)
        #expect(o.cap(.aggressive) == .aggressive)
    }

    @Test func aLatchedModeIsNeverLoosenedOrTightened() {
        var o = WatchdogObservation(limitSeconds: 1, startedAt: 0)
        _ = o.evaluate(now: 5)
        #expect(o.cap(.shutdown) == .shutdown)
        #expect(o.cap(.observeOnly) == .observeOnly)
    }
}
