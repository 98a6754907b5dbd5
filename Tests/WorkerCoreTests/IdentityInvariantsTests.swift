import Testing
import WorkerCore

@testable import RobotConfig

func streams(_ pairs: [(String, String)]) -> [StreamSpec] {
    pairs.map { StreamSpec(id: $0.0, instrument: $0.1) }
}

@Suite("IdentityInvariants")
struct IdentityInvariantsTests {
    @Test("a canonical spec passes")
    func passing() {
        let invariants = IdentityInvariants(canonical: "ES", execution: "MES", streams: streams([("ES1", "ES"), ("ES2", "ES")]))
        let result = invariants.check()
        #expect(result.violations == [])
        #expect(result.pass)
        #expect(invariants.streamIDs == ["ES1", "ES2"])
    }

    @Test("rule 1: a stream id containing the execution instrument")
    func ruleOne() {
        let result = IdentityInvariants(canonical: "ES", execution: "MES", streams: streams([("MES1", "ES")])).check()
        #expect(!result.pass)
        #expect(result.violations == ["stream MES1: id contains the execution instrument MES; expected a canonical id under ES"])
        // Case does not hide it.
        let lower = IdentityInvariants(canonical: "ES", execution: "MES", streams: streams([("mes_2", "ES")])).check()
        #expect(lower.violations == ["stream mes_2: id contains the execution instrument MES; expected a canonical id under ES"])
    }

    @Test("rule 1 does not fire when the execution instrument is the canonical one")
    func ruleOneSameInstrument() {
        let result = IdentityInvariants(canonical: "ES", execution: "ES", streams: streams([("ES1", "ES"), ("ES2", "ES")])).check()
        #expect(result.violations == [])
        #expect(result.pass)
    }

    @Test("rule 2: a stream whose instrument is not the canonical one")
    func ruleTwo() {
        let result = IdentityInvariants(canonical: "ES", execution: "MES", streams: streams([("ES1", "NQ")])).check()
        #expect(result.violations == ["stream ES1: instrument is NQ, expected the canonical instrument ES"])
        // The execution instrument is not the canonical one either.
        let execution = IdentityInvariants(canonical: "ES", execution: "MES", streams: streams([("ES2", "MES")])).check()
        #expect(execution.violations == ["stream ES2: instrument is MES, expected the canonical instrument ES"])
    }

    @Test("rule 3: a missing execution instrument is one violation per stream")
    func ruleThree() {
        let result = IdentityInvariants(canonical: "CL", execution: "", streams: streams([("CL1", "CL"), ("CL2", "CL"), ("CL3", "CL")]))
            .check()
        #expect(
            result.violations == [
                "stream CL1: execution instrument is missing", "stream CL2: execution instrument is missing",
                "stream CL3: execution instrument is missing",
            ])
    }

    @Test("several violations come in stream order, then rule order")
    func ordering() {
        let result = IdentityInvariants(
            canonical: "ES", execution: "MES",
            streams: streams([("MES1", "NQ"), ("ES2", "ES"), ("MES3", "ES"), ("ES4", "CL")])
        ).check()
        #expect(
            result.violations == [
                "stream MES1: id contains the execution instrument MES; expected a canonical id under ES",
                "stream MES1: instrument is NQ, expected the canonical instrument ES",
                "stream MES3: id contains the execution instrument MES; expected a canonical id under ES",
                "stream ES4: instrument is CL, expected the canonical instrument ES",
            ])

        let withoutExecution = IdentityInvariants(canonical: "ES", execution: "", streams: streams([("ES1", "NQ"), ("ES2", "ES")]))
            .check()
        #expect(
            withoutExecution.violations == [
                "stream ES1: instrument is NQ, expected the canonical instrument ES", "stream ES1: execution instrument is missing",
                "stream ES2: execution instrument is missing",
            ])
    }

    @Test("no streams, no violations")
    func noStreams() {
        #expect(IdentityInvariants(canonical: "ES", execution: "", streams: []).check().pass)
    }
}

/// Feeds `steps` (violations, now) to `schedule` and returns which were emitted.
func emitted(_ schedule: inout InvariantsSchedule, _ steps: [([String], Int64)]) -> [Bool] {
    steps.map { schedule.shouldEmit(violations: $0.0, now: $0.1) }
}

@Suite("InvariantsSchedule")
struct InvariantsScheduleTests {
    let failing = ["stream MES1: id contains the execution instrument MES; expected a canonical id under ES"]
    let more = [
        "stream MES1: id contains the execution instrument MES; expected a canonical id under ES",
        "stream ES2: execution instrument is missing",
    ]

    @Test("the first result is emitted")
    func first() {
        var schedule = InvariantsSchedule(intervalNanos: 1_000)
        #expect(schedule.intervalNanos == 1_000)
        #expect(emitted(&schedule, [([], 5_000)]) == [true])
        var failingFirst = InvariantsSchedule(intervalNanos: 1_000)
        #expect(emitted(&failingFirst, [(failing, 0)]) == [true])
    }

    @Test("the same result is held until exactly one interval has passed")
    func sameResult() {
        var schedule = InvariantsSchedule(intervalNanos: 1_000)
        let results = emitted(
            &schedule,
            [
                (failing, 5_000), (failing, 5_000), (failing, 5_001), (failing, 5_999), (failing, 6_000),
                // The interval now counts from the last emission, not from the first.
                (failing, 6_999), (failing, 7_000),
            ])
        #expect(results == [true, false, false, false, true, false, true])
    }

    @Test("a changed violation list is emitted at once, even 1 ns after the last")
    func changed() {
        var schedule = InvariantsSchedule(intervalNanos: 60_000_000_000)
        let results = emitted(
            &schedule,
            [
                (failing, 100), (more, 101), (more, 102),
                // The same violations in another order are another list.
                (more.reversed(), 103),
            ])
        #expect(results == [true, true, false, true])
    }

    @Test("pass, fail, pass: each flip is emitted at once")
    func flips() {
        var schedule = InvariantsSchedule(intervalNanos: 60_000_000_000)
        #expect(
            emitted(&schedule, [([], 0), ([], 1), (failing, 2), ([], 3), ([], 4), (failing, 5)]) == [true, false, true, true, false, true])
    }

    @Test("nextCheck is now before the first emission, then the last emission plus the interval")
    func nextCheck() {
        var schedule = InvariantsSchedule(intervalNanos: 1_000)
        #expect(schedule.nextCheck(now: 42) == 42)
        #expect(emitted(&schedule, [([], 100)]) == [true])
        #expect(schedule.nextCheck(now: 100) == 1_100)
        #expect(schedule.nextCheck(now: 600) == 1_100)
        // A result held back does not move the due time.
        #expect(emitted(&schedule, [([], 700)]) == [false])
        #expect(schedule.nextCheck(now: 700) == 1_100)
        // Overdue: now.
        #expect(schedule.nextCheck(now: 5_000) == 5_000)
        #expect(emitted(&schedule, [(failing, 800)]) == [true])
        #expect(schedule.nextCheck(now: 800) == 1_800)
    }
}
