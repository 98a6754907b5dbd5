import Testing
import Wire

@testable import WorkerCore

@Suite struct StartupChecksTests {
    func line(_ run: String, _ seq: Int64?, _ micros: Int64, type: EventType = .identityInvariantsStatus) -> [UInt8] {
        Event(
            type: type.rawValue, market: "ES", runID: run, pid: 10, fence: 1, seq: seq, ts: UTCTimestamp.format(micros: micros), data: [:]
        )
        .encodedLine()
    }

    var good: [UInt8] {
        line("ES-a", 1, 1_000) + line("ES-a", 2, 2_000) + line("ES-a", nil, 2_500, type: .heartbeat) + line("ES-a", 3, 3_000)
            + line("ES-b", 1, 2_000) + line("ES-b", 2, 4_000)
    }

    @Test func aCleanJournalPasses() {
        let r = StartupChecks.checkJournal(good, tornBytes: 0)
        #expect(r.passed, "\(r.detail)")
        #expect(r.detail == "6 events, 2 runs")
    }

    @Test func aTornLastLineIsReportedButNotAFailure() {
        let r = StartupChecks.checkJournal(good, tornBytes: 17)
        #expect(r.passed)
        #expect(r.detail.contains("a torn last line of 17 bytes was cut"))
    }

    @Test func aDuplicateEventIDFails() {
        let r = StartupChecks.checkJournal(good + line("ES-a", 3, 5_000), tornBytes: 0)
        #expect(!r.passed)
        #expect(r.detail.contains("duplicate event ID ES-a/3"))
    }

    @Test func timestampsOutOfOrderFail() {
        let r = StartupChecks.checkJournal(line("ES-a", 1, 5_000) + line("ES-a", 2, 4_000), tornBytes: 0)
        #expect(!r.passed)
        #expect(r.detail.contains("goes back in time in run ES-a"))
    }

    func clockStep(_ run: String, _ seq: Int64, from: Int64, to: Int64) -> [UInt8] {
        Event(
            type: EventType.clockStep.rawValue, market: "ES", runID: run, pid: 10, fence: 1, seq: seq, ts: UTCTimestamp.format(micros: to),
            data: ClockStepWatch.Step(fromMicros: from, toMicros: to, deltaMicros: to - from).data
        ).encodedLine()
    }

    @Test func aTimestampGoingBackAtTheClockStepThatExplainsItPasses() {
        let journal =
            line("ES-a", 1, 5_000_000) + line("ES-a", nil, 5_500_000, type: .heartbeat)
            + clockStep("ES-a", 2, from: 6_000_000, to: 1_000_000) + line("ES-a", 3, 1_000_100) + line("ES-a", 4, 9_000_000)
            + clockStep("ES-a", 5, from: 9_100_000, to: 90_000_000) + line("ES-a", 6, 90_000_001)
        let r = StartupChecks.checkJournal(journal, tornBytes: 0)
        #expect(r.passed, "\(r.detail)")
    }

    @Test func aTimestampGoingBackThatNoClockStepExplainsStillFails() {
        // Back after a forward step: the forward step explains nothing going back.
        let forward = line("ES-a", 1, 5_000_000) + clockStep("ES-a", 2, from: 5_100_000, to: 9_000_000) + line("ES-a", 3, 8_000_000)
        #expect(!StartupChecks.checkJournal(forward, tornBytes: 0).passed)
        // Back one event after the step: only the CLOCK_STEP line itself may go back.
        let late = line("ES-a", 1, 5_000_000) + clockStep("ES-a", 2, from: 5_100_000, to: 1_000_000) + line("ES-a", 3, 900_000)
        let r = StartupChecks.checkJournal(late, tornBytes: 0)
        #expect(!r.passed)
        #expect(r.detail.contains("line 3: timestamp"), "\(r.detail)")
        // A step whose `from` is before the previous event does not explain the whole way back.
        let short = line("ES-a", 1, 5_000_000) + clockStep("ES-a", 2, from: 4_000_000, to: 1_000_000)
        #expect(!StartupChecks.checkJournal(short, tornBytes: 0).passed)
        // A step whose `to` is not its own timestamp explains nothing.
        var data = ClockStepWatch.Step(fromMicros: 6_000_000, toMicros: 2_000_000, deltaMicros: -4_000_000).data
        data["to"] = .string(UTCTimestamp.format(micros: 2_000_000))
        let forged = Event(
            type: EventType.clockStep.rawValue, market: "ES", runID: "ES-a", pid: 10, fence: 1, seq: 2,
            ts: UTCTimestamp.format(micros: 1_000_000),
            data: data)
        #expect(!StartupChecks.checkJournal(line("ES-a", 1, 5_000_000) + forged.encodedLine(), tornBytes: 0).passed)
    }

    @Test func aSequenceGapFails() {
        let r = StartupChecks.checkJournal(line("ES-a", 1, 1_000) + line("ES-a", 3, 2_000), tornBytes: 0)
        #expect(!r.passed)
        #expect(r.detail.contains("run ES-a jumps from seq 1 to 3"))
    }

    @Test func reorderedLinesFail() {
        let r = StartupChecks.checkJournal(line("ES-a", 2, 2_000) + line("ES-a", 1, 1_000), tornBytes: 0)
        #expect(!r.passed)
    }

    @Test func aTruncatedLineInTheMiddleFails() {
        let cut = Array(line("ES-a", 2, 2_000).prefix(40)) + [UInt8(ascii: "\n")]
        let r = StartupChecks.checkJournal(line("ES-a", 1, 1_000) + cut + line("ES-a", 3, 3_000), tornBytes: 0)
        #expect(!r.passed)
        #expect(r.detail.contains("line 2 is not an event"))
    }

    @Test func noSnapshotPassesACorruptOneFailsAnInvalidModeIsNamed() {
        let none = StartupChecks.checkSnapshot(nil)
        #expect(none.snapshot.passed && none.mode.passed)
        let corrupt = StartupChecks.checkSnapshot(Array("{\"mode\": \"AGG".utf8))
        #expect(!corrupt.snapshot.passed)
        let badMode = StartupChecks.checkSnapshot(Array("{\"mode\": \"YOLO\"}".utf8))
        #expect(!badMode.mode.passed)
        #expect(badMode.mode.detail.contains("\"YOLO\""))
    }

    @Test func aSnapshotAggressiveWithALatchIsInconsistent() {
        let latch = FailSafe.Latch(trigger: .noSnapshot, reason: "x", latchedAtUTC: "2026-11-21T07:00:00.000000Z", runID: "ES-1")
        let s = WorkerSnapshot(
            market: "ES", runID: "ES-1", fence: 1, mode: .aggressive, latch: latch, latchCleared: nil, orders: [], positions: [:],
            writtenAtUTC: "2026-11-21T07:00:00.000000Z")
        let r = StartupChecks.checkSnapshot(s.encoded())
        #expect(!r.snapshot.passed)
        #expect(r.snapshot.detail.contains("AGGRESSIVE while the NO_SNAPSHOT latch is set"))
    }
}
