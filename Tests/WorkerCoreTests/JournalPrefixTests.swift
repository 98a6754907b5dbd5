import Platform
import TestSupport
import Testing
import Wire

@testable import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// Start-up from a verified prefix (issue 20): the prefix is re-checked by its checksum, the tail
/// by the full rules, and a flipped byte in either is damage.
@Suite struct JournalPrefixTests {
    func line(_ run: String, _ seq: Int64?, _ micros: Int64, fence: Int64 = 1, type: EventType = .healthStatus, data: JSONObject = [:])
        -> [UInt8]
    {
        Event(
            type: type.rawValue, market: "ES", runID: run, pid: 10, fence: fence, seq: seq, ts: UTCTimestamp.format(micros: micros),
            data: data
        )
        .encodedLine()
    }

    func lines(_ run: String, _ seqs: ClosedRange<Int64>, fence: Int64 = 1) -> [UInt8] {
        seqs.flatMap { line(run, $0, 1_000_000 + $0 * 1000, fence: fence) }
    }

    func scan(_ path: String, full: Bool = false) throws -> JournalScan {
        let s = JournalScan.run(journalPath: path, identity: try fileIdentity(path), tornBytes: 0, full: full)
        s.closeFiles()
        return s
    }

    /// Writes `bytes` as the journal, scans it once and records the verified prefix.
    func verified(_ folder: TemporaryFolder, _ bytes: [UInt8]) throws -> (path: String, record: VerifiedPrefix) {
        let path = try folder.write("events.ndjson", bytes)
        let first = try scan(path)
        #expect(first.check.passed, "\(first.check.detail)")
        #expect(first.prefixBytes == 0 && first.checkedBytes == bytes.count)
        let record = try #require(first.record)
        try record.write(JournalSegments(journalPath: path).verifiedPath)
        return (path, record)
    }

    func append(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        defer { close(fd) }
        try FileIO.append(fd, bytes)
    }

    func flipByte(_ path: String, at offset: Int) {
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        var b: UInt8 = 0
        _ = pread(fd, &b, 1, off_t(offset))
        // A digit stays a digit: the line still decodes, only the checksum can tell.
        b = b == UInt8(ascii: "1") ? UInt8(ascii: "2") : (b ^ 0x01)
        _ = pwrite(fd, &b, 1, off_t(offset))
    }

    @Test func theNextStartChecksOnlyTheTailAndTrustsThePrefixByItsChecksum() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let prefix = lines("ES-a", 1...200)
        let (path, record) = try verified(folder, prefix)
        #expect(record.bytes == prefix.count)
        #expect(record.crc32c == JournalStream.checksum(prefix))
        let tail = lines("ES-a", 201...210) + lines("ES-b", 1...5, fence: 2)
        try append(path, tail)
        let second = try scan(path)
        #expect(second.check.passed, "\(second.check.detail)")
        #expect(second.prefixBytes == prefix.count)
        #expect(second.checkedBytes == tail.count)
        #expect(second.state.events == 215)
        #expect(second.state.highestFence == 2)
        #expect(second.check.detail.hasPrefix("215 events, 2 runs"), "\(second.check.detail)")
        // The new record covers everything, with the same checksum as reading the whole file.
        #expect(second.record?.bytes == prefix.count + tail.count)
        #expect(second.record?.crc32c == JournalStream.checksum(prefix + tail))
        // Same verdict and state as a full check.
        let full = try scan(path, full: true)
        #expect(full.state == second.state)
    }

    @Test func aFlippedByteInTheVerifiedPrefixIsDamage() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (path, _) = try verified(folder, lines("ES-a", 1...50))
        try append(path, lines("ES-a", 51...52))
        // A byte inside the prefix whose change keeps every rule: only the checksum catches it.
        let bytes = try folder.read("events.ndjson")
        let digit = try #require(bytes.indices.first { bytes[$0] == UInt8(ascii: "1") && $0 > 100 })
        flipByte(path, at: digit)
        let s = try scan(path)
        #expect(!s.check.passed)
        #expect(s.check.detail.contains("no longer matches its checksum"), "\(s.check.detail)")
        #expect(s.record == nil)
    }

    @Test func aFlippedByteInTheTailIsCaughtByTheRules() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (path, record) = try verified(folder, lines("ES-a", 1...50))
        try append(path, lines("ES-a", 51...60))
        // Break the JSON of a tail line: its closing brace becomes something else.
        let bytes = try folder.read("events.ndjson")
        let brace = try #require(bytes.indices.last { bytes[$0] == UInt8(ascii: "}") })
        flipByte(path, at: brace)
        let s = try scan(path)
        #expect(!s.check.passed)
        #expect(s.check.detail.contains("is not an event"), "\(s.check.detail)")
        #expect(s.prefixBytes == record.bytes, "the prefix itself matched")
    }

    @Test func aDuplicateIDInTheTailOfAnIDInThePrefixIsCaughtWithoutASetOfIDs() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (path, _) = try verified(folder, lines("ES-a", 1...100))
        try append(path, line("ES-a", 42, 9_000_000))
        let s = try scan(path)
        #expect(!s.check.passed)
        #expect(s.check.detail.contains("duplicate event ID ES-a/42"), "\(s.check.detail)")
        // A gap in the tail, too.
        let folder2 = try TemporaryFolder()
        defer { folder2.remove() }
        let (path2, _) = try verified(folder2, lines("ES-a", 1...100))
        try append(path2, line("ES-a", 105, 9_000_000))
        #expect(try scan(path2).check.detail.contains("jumps from seq 100 to 105"))
    }

    @Test func aCutPrefixAReplacedFileAndAnUnreadableRecord() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (path, record) = try verified(folder, lines("ES-a", 1...50))
        // Cut below the verified prefix: damage.
        #expect(truncate(path, off_t(record.bytes - 10)) == 0)
        let cut = try scan(path)
        #expect(!cut.check.passed)
        #expect(cut.check.detail.contains("where its verified prefix is \(record.bytes) bytes"), "\(cut.check.detail)")
        // A file put in its place (another inode): checked whole, no claim on it.
        // (Renamed over the old one, so it cannot reuse its inode: a file that does is judged by
        // the checksum, as a change.)
        let replacement = try folder.write("events.new", lines("ES-c", 1...3))
        #expect(rename(replacement, path) == 0)
        let fresh = path
        let other = try scan(fresh)
        #expect(other.check.passed)
        #expect(other.prefixBytes == 0)
        #expect(other.summary.contains("names another journal file"), "\(other.summary)")
        // A record that is not one: checked whole.
        _ = try folder.write("events.verified.json", "{not json")
        let bad = try scan(fresh)
        #expect(bad.check.passed)
        #expect(bad.summary.contains("not a verified-prefix record"), "\(bad.summary)")
    }

    @Test func theVerifierMatchesTheWholeFileCheckLineForLine() throws {
        // The same rules whichever way the bytes come: whole, or line by line across a prefix.
        let journals: [[UInt8]] = [
            lines("ES-a", 1...5) + line("ES-a", 3, 2_000_000),
            lines("ES-a", 1...5) + line("ES-a", 9, 2_000_000) + line("ES-a", 6, 2_000_001) + line("ES-a", 9, 2_000_002),
            lines("ES-a", 1...3) + Array("garbage\n".utf8) + lines("ES-b", 1...2),
            line("ES-a", 1, 5_000_000) + line("ES-a", 2, 4_000_000),
        ]
        for bytes in journals {
            let whole = StartupChecks.checkJournal(bytes, tornBytes: 0)
            let folder = try TemporaryFolder()
            defer { folder.remove() }
            let path = try folder.write("events.ndjson", bytes)
            let streamed = try scan(path)
            #expect(streamed.check == whole, "\(streamed.check.detail) vs \(whole.detail)")
        }
    }

    @Test func theKeeperFollowsTheWorkersOwnAppendsAndStopsAtForeignLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let journal = try Journal(path: folder.file("events.ndjson"))
        let verifiedPath = JournalSegments(journalPath: journal.path).verifiedPath
        let keeper = VerifiedPrefixKeeper(path: verifiedPath, record: nil, freshJournal: journal.identity, state: .init())
        let log = EventLog(market: "ES", runID: "ES-k", pid: 1, journal: journal)
        log.fence = 3
        log.onDurable = { bytes, events in keeper.durable(bytes, events, size: journal.size) }
        for _ in 0..<20 { log.emit(.healthStatus, [:]) }
        keeper.write()
        let s = try scan(journal.path)
        #expect(s.check.passed)
        #expect(s.prefixBytes == journal.size, "the whole journal was verified by the keeper")
        #expect(s.checkedBytes == 0)
        #expect(s.state.highestFence == 3)
        // A line the keeper did not write: it stops following; the next start checks the rest.
        try append(journal.path, line("ES-refused", 1, 9_000_000, fence: 0))
        log.emit(.healthStatus, [:])
        #expect(!keeper.following)
        let after = try scan(journal.path)
        #expect(after.check.passed, "\(after.check.detail)")
        #expect(after.checkedBytes > 0)
    }
}
