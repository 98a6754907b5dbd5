import Wire
import Testing

@testable import WorkerCore

@Suite struct StartupChecksTests {
    func line(_ run: String, _ seq: Int64?, _ micros: Int64, type: EventType = .identityInvariantsStatus) -> [UInt8] {
        Event(type: type.rawValue, market: "ES", runID: run, pid: 10, fence: 1, seq: seq, ts: UTCTimestamp.format(micros: micros), data: [:])
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
