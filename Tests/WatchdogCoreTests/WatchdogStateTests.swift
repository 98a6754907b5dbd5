import Foundation
import Testing
import Wire

@testable import WatchdogCore

/// The watchdog's state machine with an injected clock: no process, no socket, no sleep.
@Suite struct WatchdogStateTests {
    static let start = WatchdogInstant(monotonicNanos: 1_000_000_000_000, wallMicros: 1_795_000_000_000_000)
    /// Heartbeat interval 0.2 s: LATE after 0.4 s, LOST after 1 s.
    static let policy = HeartbeatPolicy(lateSeconds: 0.4, lostSeconds: 1)

    func event(
        _ type: EventType, run: String = "ES-run-a", fence: Int64 = 1, seq: Int64?, ts: String = "2026-11-21T07:15:00.5Z",
        data: JSONObject = [:], market: String = "ES", pid: Int32 = 4242
    ) -> Event {
        Event(type: type.rawValue, market: market, runID: run, pid: pid, fence: fence, seq: seq, ts: ts, data: data)
    }

    func heartbeat(run: String = "ES-run-a", fence: Int64 = 1, ts: String = "2026-11-21T07:15:01.000000Z") -> Event {
        event(.heartbeat, run: run, fence: fence, seq: nil, ts: ts, data: ["mode": "AGGRESSIVE"])
    }

    @Test func eachSeqIsAppliedOnceAndRepeatsAreCountedAsDuplicates() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        #expect(state.apply(event(.configReloaded, seq: 1), now: Self.start) == .applied(runID: "ES-run-a", seq: 1))
        #expect(state.apply(event(.configReloaded, seq: 2), now: Self.start) == .applied(runID: "ES-run-a", seq: 2))
        #expect(state.apply(event(.configReloaded, seq: 2), now: Self.start) == .duplicate(runID: "ES-run-a", seq: 2))
        #expect(state.apply(event(.configReloaded, seq: 1), now: Self.start) == .duplicate(runID: "ES-run-a", seq: 1))
        let es = state.markets["ES"]!
        #expect(es.counters.events == 2)
        #expect(es.counters.duplicates == 2)
        #expect(es.counters.gaps == 0)
        #expect(es.appliedSeq("ES-run-a") == 2)
        #expect(state.applied(market: "ES") == ["ES-run-a": 2])
    }

    @Test func aGapIsCountedBySizeRaisesOneWarningAndTheRunMovesOn() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.configReloaded, seq: 1), now: Self.start)
        #expect(state.apply(event(.configReloaded, seq: 4), now: Self.start) == .applied(runID: "ES-run-a", seq: 4))
        #expect(state.apply(event(.configReloaded, seq: 5), now: Self.start) == .applied(runID: "ES-run-a", seq: 5))
        state.apply(event(.configReloaded, seq: 8), now: Self.start)
        let es = state.markets["ES"]!
        #expect(es.counters.gaps == 4)
        #expect(es.counters.events == 4)
        #expect(es.appliedSeq("ES-run-a") == 8)
        let gaps = es.alerts.filter { $0.condition == .sequenceGap }
        #expect(gaps.count == 1)
        #expect(gaps.first?.severity == .warning)
        #expect(gaps.first?.occurrences == 2)
        #expect(gaps.first?.metadata["received_seq"] == "8")
        // Heartbeats carry no seq and never count as gaps or duplicates.
        state.apply(heartbeat(), now: Self.start)
        state.apply(heartbeat(), now: Self.start)
        #expect(state.markets["ES"]!.counters.gaps == 4)
        #expect(state.markets["ES"]!.counters.duplicates == 0)
        #expect(state.markets["ES"]!.counters.heartbeats == 2)
    }

    @Test func aLowerFenceNeverChangesHolderModeOrHeartbeatAndANewRunBelowTheMarkIsCritical() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(
            event(.lockAcquired, run: "ES-run-b", fence: 5, seq: 1, data: ["acquired_at_utc": "2026-11-21T07:15:00.1Z"]), now: Self.start)
        state.apply(heartbeat(run: "ES-run-b", fence: 5, ts: "2026-11-21T07:15:02.000000Z"), now: Self.start)
        // An older holder (fence 4), still running somewhere, speaks up.
        let later = Self.start.adding(seconds: 0.3)
        state.apply(event(.lockAcquired, run: "ES-run-old", fence: 4, seq: 1, pid: 99), now: later)
        state.apply(
            event(.identityInvariantsStatus, run: "ES-run-old", fence: 4, seq: 2, data: ["pass": false, "violations": ["x"]]), now: later)
        var stale = heartbeat(run: "ES-run-old", fence: 4, ts: "2026-11-21T07:15:09.000000Z")
        stale.data["mode"] = "OBSERVE_ONLY"
        #expect(state.apply(stale, now: later) == .staleHeartbeat)
        let es = state.markets["ES"]!
        #expect(es.lock?.runID == "ES-run-b")
        #expect(es.lock?.fence == 5)
        #expect(es.mode == "AGGRESSIVE")
        #expect(es.lastHeartbeatUTC == "2026-11-21T07:15:02.000000Z")
        #expect(es.lastIdentityInvariantsPass == nil)
        #expect(es.fenceHighWater == 5)
        #expect(es.counters.staleFence == 3)
        #expect(es.appliedSeq("ES-run-old") == 2, "kept as history: its seqs are applied")
        let regressions = es.alerts.filter { $0.condition == .fenceRegression }
        #expect(regressions.count == 1)
        #expect(regressions.first?.severity == .critical)
        #expect(regressions.first?.metadata["fence"] == "4")
        #expect(regressions.first?.metadata["fence_high_water"] == "5")
        // An acknowledgement accepts it: the incident closes.
        let acked = state.acknowledge(market: "ES", alertID: regressions.first?.alertID, now: later)
        #expect(acked.map(\.condition) == [.fenceRegression])
        #expect(state.markets["ES"]!.alerts.isEmpty)
        #expect(state.alertHistory.last?.condition == .fenceRegression)
    }

    @Test func anEarlierRunResentFromAJournalIsHistoryNotARegression() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.lockAcquired, run: "ES-run-b", fence: 5, seq: 1), now: Self.start)
        state.apply(event(.lockAcquired, run: "ES-run-a", fence: 4, seq: 1), now: Self.start, resumed: true)
        state.apply(event(.lockReleased, run: "ES-run-a", fence: 4, seq: 2), now: Self.start, resumed: true)
        let es = state.markets["ES"]!
        #expect(es.alerts.isEmpty)
        #expect(es.counters.staleFence == 2)
        #expect(es.lock?.runID == "ES-run-b")
        #expect(es.appliedSeq("ES-run-a") == 2)
    }

    @Test func aRefusedWorkersFenceZeroIsCountedAndNeverBecomesTheHolder() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.lockAcquired, run: "ES-run-b", fence: 5, seq: 1), now: Self.start)
        state.apply(
            event(.alreadyActive, run: "ES-refused", fence: 0, seq: 1, data: ["holder_run_id": "ES-run-b"], pid: 77), now: Self.start)
        let es = state.markets["ES"]!
        #expect(es.lock?.runID == "ES-run-b")
        #expect(es.counters.refusals == 1)
        #expect(
            es.lastRefusal == WatchedMarket.Refusal(runID: "ES-refused", pid: 77, ts: "2026-11-21T07:15:00.5Z", holderRunID: "ES-run-b"))
        #expect(es.alerts.isEmpty)
    }

    @Test func aNewHolderWithoutAReleaseIsACrashWarningAndACleanReleaseIsNot() {
        var state = WatchdogState(configuredMarkets: ["ES", "NQ"], now: Self.start)
        state.apply(event(.lockAcquired, run: "ES-1", fence: 1, seq: 1), now: Self.start)
        state.apply(event(.lockAcquired, run: "ES-2", fence: 2, seq: 1), now: Self.start)
        let crash = state.markets["ES"]!.alerts.filter { $0.condition == .holderCrashed }
        #expect(crash.count == 1)
        #expect(crash.first?.severity == .warning)
        #expect(crash.first?.metadata["previous_run_id"] == "ES-1")

        state.apply(event(.lockAcquired, run: "NQ-1", fence: 1, seq: 1, market: "NQ"), now: Self.start)
        state.apply(event(.lockReleased, run: "NQ-1", fence: 1, seq: 2, market: "NQ"), now: Self.start)
        #expect(state.markets["NQ"]!.lock == nil)
        state.apply(event(.lockAcquired, run: "NQ-2", fence: 2, seq: 1, market: "NQ"), now: Self.start)
        #expect(state.markets["NQ"]!.alerts.isEmpty)
        #expect(state.markets["NQ"]!.lock?.runID == "NQ-2")
    }

    @Test func identityFieldsAndTheEventTimeInChicago() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(
            event(
                .identityInvariantsStatus, seq: 1, ts: "2026-11-21T07:15:00.5Z",
                data: [
                    "pass": false, "violations": ["stream MES1 contains MES"], "canonical_instrument": "ES", "execution_instrument": "MES",
                    "stream_ids": ["ES2", "MES1"],
                ]), now: Self.start)
        var es = state.markets["ES"]!
        #expect(es.lastIdentityInvariantsPass == false)
        #expect(es.lastIdentityViolations == ["stream MES1 contains MES"])
        #expect(es.lastIdentityInvariantsEventChicago == "2026-11-21T01:15:00.5-06:00")
        #expect(es.executionInstrument == "MES")
        #expect(es.streamIDs == ["ES2", "MES1"])
        #expect(es.alerts.map(\.condition) == [.identityViolation])
        #expect(es.alerts.first?.severity == .critical)

        state.apply(
            event(
                .identityInvariantsStatus, seq: 2, ts: "2026-07-15T17:00:00.123456Z",
                data: ["pass": true, "violations": [], "stream_ids": ["ES1", "ES2"]]),
            now: Self.start)
        es = state.markets["ES"]!
        #expect(es.lastIdentityInvariantsPass == true)
        #expect(es.lastIdentityInvariantsEventChicago == "2026-07-15T12:00:00.123456-05:00")
        #expect(es.alerts.isEmpty, "resolved when the invariants pass again")
        #expect(state.alertHistory.last?.condition == .identityViolation)
        #expect(state.alertHistory.last?.resolvedAtUTC != nil)
    }

    @Test func chicagoTimeAcrossTheDaylightSavingChange() {
        #expect(ChicagoTime.format(utc: "2026-03-08T07:59:59.9Z") == "2026-03-08T01:59:59.9-06:00")
        #expect(ChicagoTime.format(utc: "2026-03-08T08:00:00.0Z") == "2026-03-08T03:00:00.0-05:00")
        #expect(ChicagoTime.format(utc: "2027-01-01T05:30:00.000001Z") == "2026-12-31T23:30:00.000001-06:00")
        #expect(ChicagoTime.format(utc: "not a time") == nil)
    }

    @Test func heartbeatGoesLateThenLostWithAnAlertThenBackToOkResolvingIt() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.lockAcquired, seq: 1), now: Self.start)
        state.apply(heartbeat(ts: "2026-11-21T07:15:01.250000Z"), now: Self.start)
        #expect(state.tick(now: Self.start.adding(seconds: 0.3), policy: Self.policy) == false)
        #expect(state.markets["ES"]!.heartbeatState == .ok)
        let turnedLate = state.tick(now: Self.start.adding(seconds: 0.45), policy: Self.policy)
        #expect(turnedLate)
        #expect(state.markets["ES"]!.heartbeatState == .late)
        #expect(state.markets["ES"]!.alerts.isEmpty, "LATE raises nothing")
        let turnedLost = state.tick(now: Self.start.adding(seconds: 1.0), policy: Self.policy)
        #expect(turnedLost)
        var es = state.markets["ES"]!
        #expect(es.heartbeatState == .lost)
        #expect(abs(es.heartbeatAgeSeconds - 1.0) < 1e-6)
        let lost = es.alerts.filter { $0.condition == .heartbeatLost }
        #expect(lost.count == 1)
        #expect(lost.first?.severity == .critical)
        #expect(lost.first?.metadata["last_heartbeat_utc"] == "2026-11-21T07:15:01.250000Z")
        #expect(state.tick(now: Self.start.adding(seconds: 5), policy: Self.policy) == false, "one alert while it lasts")
        #expect(state.markets["ES"]!.alerts.count == 1)

        state.apply(heartbeat(ts: "2026-11-21T07:15:07.000000Z"), now: Self.start.adding(seconds: 6))
        es = state.markets["ES"]!
        #expect(es.heartbeatState == .ok)
        #expect(es.alerts.isEmpty)
        #expect(state.alertHistory.last?.alertID == lost.first?.alertID)
        #expect(state.alertHistory.last?.resolvedAtUTC != nil)
    }

    @Test func aLostMarketHoldsItsOtherAlertsBackUntilItIsBack() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(.lockAcquired, seq: 1), now: Self.start)
        state.apply(heartbeat(), now: Self.start)
        state.apply(event(.configReloaded, seq: 5), now: Self.start) // a gap: WARNING open
        #expect(state.markets["ES"]!.alerts.map(\.condition) == [.sequenceGap])
        state.tick(now: Self.start.adding(seconds: 2), policy: Self.policy)
        #expect(state.markets["ES"]!.alerts.map(\.condition) == [.heartbeatLost])
        #expect(state.markets["ES"]!.inhibitedAlerts.map(\.condition) == [.sequenceGap])
        // Raised while LOST: held back too.
        state.apply(
            event(.identityInvariantsStatus, seq: 6, data: ["pass": false, "violations": ["v"]]), now: Self.start.adding(seconds: 2))
        #expect(state.markets["ES"]!.alerts.map(\.condition) == [.heartbeatLost])
        #expect(state.markets["ES"]!.inhibitedAlerts.map(\.condition) == [.sequenceGap, .identityViolation])
        #expect(state.markets["ES"]!.isHealthy == false)

        state.apply(heartbeat(), now: Self.start.adding(seconds: 3))
        #expect(state.markets["ES"]!.alerts.map(\.condition) == [.sequenceGap, .identityViolation])
        #expect(state.markets["ES"]!.inhibitedAlerts.isEmpty)
    }

    @Test func oneAlertPerConditionAndAnAcknowledgedConditionIsNotRaisedAgain() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(heartbeat(), now: Self.start)
        state.apply(event(.lockAcquired, seq: 1), now: Self.start)
        state.apply(event(.identityInvariantsStatus, seq: 2, data: ["pass": true, "violations": []]), now: Self.start)
        #expect(state.markets["ES"]!.isHealthy)
        for seq in Int64(3)...5 {
            state.apply(
                event(.identityInvariantsStatus, seq: seq, data: ["pass": false, "violations": [.string("v\(seq)")]]), now: Self.start)
        }
        var open = state.markets["ES"]!.alerts
        #expect(open.count == 1)
        #expect(open.first?.occurrences == 3)
        #expect(open.first?.metadata["violations"] == "v5")
        #expect(state.markets["ES"]!.isHealthy == false)

        let acked = state.acknowledge(market: "ES", alertID: nil, now: Self.start)
        #expect(acked.count == 1)
        state.apply(event(.identityInvariantsStatus, seq: 6, data: ["pass": false, "violations": ["v6"]]), now: Self.start)
        open = state.markets["ES"]!.alerts
        #expect(open.count == 1)
        #expect(open.first?.acknowledged == true, "still open, still acknowledged: not raised again")
        #expect(state.acknowledge(market: "ES", alertID: "ES-999", now: Self.start).isEmpty)
        #expect(state.acknowledge(market: "NOPE", alertID: nil, now: Self.start).isEmpty)
    }

    @Test func rejectionsAreCountedGloballyAndUnderTheirMarket() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.countRejection(.wrongMarket, market: "ES")
        state.countRejection(.wrongMarket, market: "ES")
        state.countRejection(.badHello, market: nil)
        state.countRejection(.invalidJSON, market: "ZZ")
        #expect(state.rejected["wrong_market"] == 2)
        #expect(state.rejected["bad_hello"] == 1)
        #expect(state.rejected["invalid_json"] == 1)
        #expect(Set(state.rejected.keys) == Set(RejectionReason.allCases.map(\.rawValue)))
        #expect(state.markets["ES"]!.counters.rejected == ["wrong_market": 2])
        #expect(state.markets["ZZ"] == nil, "a rejection creates no market")
    }

    @Test func onlyTheLast64RunsOfAMarketAreRemembered() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        for i in 0..<70 { state.apply(event(.configReloaded, run: "ES-r\(i)", fence: Int64(i + 1), seq: 1), now: Self.start) }
        let runs = state.markets["ES"]!.runs.map(\.runID)
        #expect(runs.count == WatchedMarket.maxRuns)
        #expect(runs.first == "ES-r6")
        #expect(runs.last == "ES-r69")
    }
}
