import Foundation
import Platform
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// A sealed segment's checksum is checked after READY (`SegmentAudit`): a flipped byte in one
/// does not stop the start, and once found it latches the worker in OBSERVE_ONLY with one
/// INTEGRITY_VIOLATION alert while nothing of that segment reaches the watchdog; the file stays
/// aside for the operator. Real processes over real sockets.
@Suite struct SealedSegmentDamageTests {
    /// Run A: no watchdog, so its journal is sealed into segments (at least three); a clean stop
    /// writes the verified prefix record. Its run ID and last seq.
    func sealRunA(_ home: TestHome, _ segmentTests: JournalSegmentsTests) throws -> (runID: String, lastSeq: Int64) {
        let first = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("three segments", timeout: 20, seen: { "\(segmentTests.segments(home))" }) {
            segmentTests.segments(home).count >= 3 ? true : nil
        }
        first.signal(SIGTERM)
        #expect(try first.waitForExit() == 0)
        let runA = try #require(segmentTests.allEvents(home).first?.runID)
        return (runA, segmentTests.allEvents(home).filter { $0.runID == runA }.compactMap(\.seq).max() ?? 0)
    }

    @Test func aFlippedByteInASealedSegmentIsFoundAfterReadyAndNothingOfItIsSent() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let segmentTests = JournalSegmentsTests()
        try home.writeConfig(segmentTests.config(maxBytes: 4096, ceiling: 1 << 30))
        let (runA, lastA) = try sealRunA(home, segmentTests)
        let damagedPath = segmentTests.segments(home)[0]
        // A digit of the first segment changed: every line still an event, only the checksum can tell.
        var bytes = try #require(FileManager.default.contents(atPath: damagedPath))
        let inDamaged = bytes.split(separator: UInt8(ascii: "\n")).compactMap { try? Event.decode(line: Array($0)) }
            .filter { $0.runID == runA && $0.seq != nil }.count
        let at = try #require(bytes.range(of: Data("\"pid\":".utf8))?.upperBound)
        bytes[at] = bytes[at] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try bytes.write(to: URL(fileURLWithPath: damagedPath))

        // Run B rotates only at 1 MiB, so its journal keeps what it said.
        try home.writeConfig(segmentTests.config(maxBytes: 1 << 20, ceiling: 1 << 30))
        _ = try home.startWatchdog()
        let second = try home.start("robot-worker", ["--market", "ES"])
        func checks() -> [Event] { home.events("ES", type: .startupChecks).filter { $0.runID != runA } }
        let late = try waitFor("the audit's STARTUP_CHECKS", timeout: 20, seen: { "\(checks().map(\.data)) \(second.stderr.prefix(3000))" })
        {
            checks().first { $0.data["after_ready"]?.boolValue == true }
        }
        #expect(checks().first?.data["passed"]?.boolValue == true, "the start itself passed: \(checks().first?.data ?? [:])")
        #expect(late.data["passed"]?.boolValue == false)
        #expect(late.data["segment"]?.stringValue == damagedPath, "\(late.data)")
        #expect(late.data["recorded_crc32c"]?.stringValue != late.data["found_crc32c"]?.stringValue)
        let market = try waitFor(
            "the latch and one alert at the watchdog", timeout: 20, seen: { "\(String(describing: home.quickStatus()?.markets["ES"]))" }
        ) {
            () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.mode == "OBSERVE_ONLY", m.latch != nil,
                m.alerts.contains(where: { $0.condition == "INTEGRITY_VIOLATION" }), m.applied(runA) == lastA
            else { return nil }
            return m
        }
        #expect(market.latch?.trigger == "STARTUP_CHECKS_FAILED")
        #expect(market.alerts.filter { $0.severity == "CRITICAL" }.map(\.condition) == ["INTEGRITY_VIOLATION"], "\(market.alerts)")
        // Run A's first seqs were in the damaged segment: the watchdog saw a hole from seq 1 (a
        // SEQUENCE_GAP warning), never those lines.
        let gap = try #require(market.alerts.first { $0.condition == "SEQUENCE_GAP" && $0.metadata["run_id"] == runA }, "\(market.alerts)")
        #expect(gap.metadata["expected_seq"] == "1", "\(gap.metadata)")
        #expect(market.counters.gaps == Int64(inDamaged), "exactly the damaged segment's \(inDamaged) events are missing")
        #expect(market.counters.duplicates == 0)
        // The worker runs on; the segment is set aside (as a damaged journal is at start) and kept.
        #expect(FileManager.default.fileExists(atPath: damagedPath + ".damaged-" + late.runID))
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
        let found = second.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("robot-worker: the sealed segment") }
        #expect(found.count == 1, "said once: \(second.stderr.suffix(2000))")
    }

    @Test func cleanSegmentsAreConfirmedAfterReadyAndReofferedCompletelyAndInOrder() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let segmentTests = JournalSegmentsTests()
        try home.writeConfig(segmentTests.config(maxBytes: 4096, ceiling: 1 << 30))
        let (runA, lastA) = try sealRunA(home, segmentTests)
        try home.writeConfig(segmentTests.config(maxBytes: 1 << 20, ceiling: 1 << 30))
        _ = try home.startWatchdog()
        let second = try home.start("robot-worker", ["--market", "ES"])
        let market = try waitFor(
            "run A applied through \(lastA)", timeout: 30, seen: { "\(String(describing: home.quickStatus()?.markets["ES"]))" }
        ) {
            () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.applied(runA) == lastA else { return nil }
            return m
        }
        #expect(market.counters.gaps == 0, "nothing missing or out of order")
        #expect(market.counters.duplicates == 0)
        #expect(market.mode == "AGGRESSIVE" && market.latch == nil)
        // The start deferred the segments (it did not check them) and found nothing after READY.
        let checks = home.events("ES", type: .startupChecks).filter { $0.runID != runA }
        #expect(checks.count == 1 && checks.first?.data["passed"]?.boolValue == true, "\(checks.map(\.data))")
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
        #expect(!second.stderr.contains("no longer matches its checksum"), "\(second.stderr.suffix(2000))")
    }
}
