import Platform
import TestSupport
import Testing
import Wire

@testable import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// The sealed segments' checksums after READY (`SegmentAudit`): the start reads none of a
/// segment's bytes when the record matches, and the audit finds a flipped byte in one.
@Suite struct SegmentAuditTests {
    let prefix = JournalPrefixTests()

    /// A journal of two sealed segments and an active file, with its verified record written.
    func journal(_ folder: TemporaryFolder) throws -> (path: String, segments: [String], record: VerifiedPrefix) {
        let path = try folder.write("events.ndjson", prefix.lines("A", 41...60))
        let layout = JournalSegments(journalPath: path)
        let segments = [layout.segmentPath(1), layout.segmentPath(2)]
        _ = try folder.write(name(segments[0]), prefix.lines("A", 1...20))
        _ = try folder.write(name(segments[1]), prefix.lines("A", 21...40))
        let first = try prefix.scan(path)
        #expect(first.check.passed, "\(first.check.detail)")
        let record = try #require(first.record)
        #expect(record.segments.count == 2)
        try record.write(layout.verifiedPath)
        return (path, segments, record)
    }

    func name(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }

    func deferredScan(_ path: String) throws -> JournalScan {
        JournalScan.run(journalPath: path, identity: try fileIdentity(path), tornBytes: 0, deferSegments: true)
    }

    @Test func theStartReadsNoSealedSegmentAndDefersTheirChecksums() throws {
        let folder = try TemporaryFolder()
        let (path, segments, record) = try journal(folder)
        let s = try deferredScan(path)
        defer { s.closeFiles() }
        #expect(s.check.passed, "\(s.check.detail)")
        // Only the active file's verified prefix is re-read; the segments are checked by size.
        #expect(s.prefixBytes == record.bytes)
        #expect(s.checkedBytes == 0)
        #expect(s.deferred.map(\.path) == segments)
        #expect(s.deferred.map(\.crc32c) == record.segments.map(\.crc32c))
        // The record the start writes still names the segments with their checksums.
        #expect(s.record?.segments == record.segments)
        // The earlier run's state comes from the record, not from the segments.
        #expect(s.state.runs.first?.lastSeq == 60)
        // Each deferred segment checks out on its own.
        let audit = SegmentAudit(scan: s)
        #expect(audit.unconfirmed == segments)
        for (segment, file) in zip(s.deferred, s.files) {
            #expect(SegmentAudit.check(segment, fd: file.fd) == .confirmed(path: segment.path))
        }
    }

    @Test func aFlippedByteInASealedSegmentPassesTheStartAndIsFoundByTheAudit() throws {
        let folder = try TemporaryFolder()
        let (path, segments, record) = try journal(folder)
        prefix.flipByte(segments[1], at: 30)
        let s = try deferredScan(path)
        defer { s.closeFiles() }
        #expect(s.check.passed, "the start does not read the segment: \(s.check.detail)")
        let outcome = SegmentAudit.check(s.deferred[1], fd: s.files[1].fd)
        guard case .damaged(let segment, let found, _) = outcome else {
            Issue.record("not found: \(outcome)")
            return
        }
        #expect(segment.path == segments[1])
        #expect(found != nil && found != record.segments[1].crc32c)
        let detail = try #require(outcome.damage?.detail)
        #expect(detail.contains(segments[1]) && detail.contains("0..<\(record.segments[1].bytes)"), "\(detail)")
        #expect(detail.contains(JournalScan.hex(record.segments[1].crc32c)) && detail.contains(JournalScan.hex(found ?? 0)), "\(detail)")
        #expect(SegmentAudit.check(s.deferred[0], fd: s.files[0].fd) == .confirmed(path: segments[0]))
        // A segment cut since it was sealed is caught by the start itself (exact size).
        _ = try folder.write(name(segments[0]), Array(prefix.lines("A", 1...20).dropLast(5)))
        let cut = try deferredScan(path)
        cut.closeFiles()
        #expect(!cut.check.passed)
        // `robot-worker verify` (no deferral) still checks every segment's checksum.
        _ = try folder.write(name(segments[0]), prefix.lines("A", 1...20))
        let verify = try prefix.scan(path)
        #expect(!verify.check.passed)
        #expect(verify.check.detail.contains("no longer matches its checksum"), "\(verify.check.detail)")
    }

    @Test func theBacklogHoldsAtAnUnconfirmedSegmentAndPassesOverADamagedOne() throws {
        let folder = try TemporaryFolder()
        let (path, _, _) = try journal(folder)
        let s = try deferredScan(path)
        let backlog = JournalBacklog(state: s.state, files: s.files, currentRun: "B")
        let audit = SegmentAudit(scan: s)
        backlog.audit = audit
        backlog.welcome { _ in 0 }
        #expect(backlog.pending == 60)
        #expect(backlog.waiting && !backlog.streaming)
        var batch: [UInt8] = []
        backlog.read(into: &batch, limit: 1 << 20)
        #expect(batch.isEmpty, "nothing read from an unconfirmed segment")
        audit.finish(.confirmed(path: s.deferred[0].path))
        audit.finish(SegmentAudit.Outcome.damaged(s.deferred[1], found: 0, why: "test"))
        #expect(!backlog.waiting && backlog.streaming)
        backlog.read(into: &batch, limit: 1 << 20)
        let seqs = batch.split(separator: UInt8(ascii: "\n")).compactMap { try? Event.decode(line: Array($0)).seq }
        #expect(seqs == Array(1...20) + Array(41...60), "the damaged segment's lines are never sent")
    }
}
