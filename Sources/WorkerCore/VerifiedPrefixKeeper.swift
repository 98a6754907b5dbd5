import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a running worker's verified prefix (`VerifiedPrefix`) moving with its own appends, so
/// that the next start has little left to check: every durable batch of lines the worker wrote
/// itself is added to the checksum and to the rules' state (`JournalVerifier`) without reading it
/// back, and the record is rewritten every `writeEvery` bytes, at each rotation and at a clean
/// stop. Lines it did not write (a refused worker appends its refusal to the same file) make the
/// file longer than it expects: it then stops moving the prefix for this run, and the next start
/// checks those lines as its tail.
public final class VerifiedPrefixKeeper {
    public let path: String
    public static let writeEvery = 4 << 20
    private var verifier: JournalVerifier
    private var identity: (device: UInt64, inode: UInt64)
    private var bytes: Int
    private var crc: UInt32
    private var segments: [VerifiedPrefix.Segment]
    private var writtenBytes: Int
    /// False once a segment was sealed while not following: the record cannot name it.
    private var segmentsKnown = true
    /// False once the file holds lines this keeper did not see.
    public private(set) var following = true
    /// The last failure to write the record (the next start checks more; not an error).
    public private(set) var lastError: SystemError?

    /// Continues from what the start-up scan verified (`record`), or starts on a fresh journal
    /// (after a quarantine: empty, fence memory carried in `state`).
    public init(path: String, record: VerifiedPrefix?, freshJournal identity: (device: UInt64, inode: UInt64), state: JournalVerifier.State)
    {
        self.path = path
        if let record {
            verifier = JournalVerifier(state: record.state)
            self.identity = (record.device, record.inode)
            bytes = record.bytes
            crc = record.crc32c
            segments = record.segments
        } else {
            var fresh = JournalVerifier.State()
            fresh.highestFence = state.highestFence
            fresh.orderIDs = state.orderIDs
            verifier = JournalVerifier(state: fresh)
            self.identity = identity
            bytes = 0
            crc = 0
            segments = []
        }
        writtenBytes = bytes
    }

    /// The keeper of a start whose scan passed: continues from its record, and writes it now when
    /// the scan had to check much (so the next start does not check it again).
    static func starting(journal: Journal, scan: JournalScan) -> VerifiedPrefixKeeper {
        let keeper = VerifiedPrefixKeeper(
            path: JournalSegments(journalPath: journal.path).verifiedPath, record: scan.record, freshJournal: journal.identity,
            state: scan.state)
        if scan.checkedBytes >= 1 << 20 { keeper.write() }
        return keeper
    }

    /// The keeper of the new journal that replaced a damaged one: a new prefix, the fence memory
    /// carried over; recorded at once.
    static func afterQuarantine(journal: Journal, scan: JournalScan) -> VerifiedPrefixKeeper {
        let keeper = VerifiedPrefixKeeper(
            path: JournalSegments(journalPath: journal.path).verifiedPath, record: nil, freshJournal: journal.identity,
            state: scan.state)
        keeper.write()
        return keeper
    }

    /// A durable batch: `lines` (whole lines) appended by this worker; `size` is the file's size after it.
    public func durable(_ lines: [UInt8], _ events: [Event], size: Int) {
        guard following else { return }
        guard size == bytes + lines.count else {
            following = false
            return
        }
        crc = JournalStream.checksum(lines, from: crc)
        bytes = size
        for event in events { verifier.check(writtenEvent: event) }
        guard verifier.passed else {
            following = false
            return
        }
        if bytes - writtenBytes >= Self.writeEvery { write() }
    }

    /// The journal was sealed as the segment named `name` and a new, empty one (`identity`) begun.
    public func sealed(as name: String, fresh identity: (device: UInt64, inode: UInt64)) {
        if following {
            segments.append(VerifiedPrefix.Segment(name: name, bytes: bytes, crc32c: crc))
        } else {
            segmentsKnown = false
        }
        restart(identity)
        write()
    }

    /// Every event was acked: the journal went to `events.1.ndjson` and the segments were deleted.
    /// The rules begin again on the new journal; the fence memory carries over.
    public func rotated(fresh identity: (device: UInt64, inode: UInt64)) {
        var fresh = JournalVerifier.State()
        fresh.highestFence = verifier.state.highestFence
        fresh.orderIDs = verifier.state.orderIDs
        verifier = JournalVerifier(state: fresh)
        segments = []
        segmentsKnown = true
        restart(identity)
        write()
    }

    /// A sealed segment found damaged after READY was set aside (`SegmentAudit`): no longer one of
    /// the journal's.
    public func setAside(segment name: String) { segments.removeAll { $0.name == name } }

    /// The segments were deleted (every event in them acked).
    public func segmentsDeleted() {
        segments = []
        segmentsKnown = true
        write()
    }

    private func restart(_ fresh: (device: UInt64, inode: UInt64)) {
        identity = fresh
        bytes = 0
        crc = 0
        writtenBytes = 0
        following = segmentsKnown
    }

    /// The journal's integrity without reading it, when this keeper can vouch for the whole file:
    /// it still follows (every line in it was checked, the earlier ones at start-up, this run's
    /// as they were written) and `journalPath` is the file it follows with exactly the bytes it
    /// saw (no other process appended). nil otherwise: the caller reads the file.
    public func integrity(journalPath: String) -> StartupChecks.Result? {
        guard following else { return nil }
        var st = stat()
        guard stat(journalPath, &st) == 0, UInt64(st.st_dev) == identity.device, UInt64(st.st_ino) == identity.inode,
            Int(st.st_size) == bytes
        else { return nil }
        return verifier.result(tornBytes: 0, prefixNote: " (this run's lines checked as it wrote them)")
    }

    /// Writes the record now (durably); a failure is kept in `lastError` and costs only checking time.
    public func write() {
        guard following else { return }
        let record = VerifiedPrefix(
            device: identity.device, inode: identity.inode, bytes: bytes, crc32c: crc, segments: segments, state: verifier.state,
            writtenAtUTC: UTCTimestamp.now())
        do {
            try record.write(path)
            writtenBytes = bytes
            lastError = nil
        } catch {
            lastError = error
        }
    }
}
