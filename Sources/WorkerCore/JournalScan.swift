import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The start-up's one pass over a market's journal (its sealed segments, then `events.ndjson`),
/// streamed: what a `VerifiedPrefix` covers is re-read only to compare checksums, and the integrity
/// rules (`JournalVerifier`) run on the rest. A prefix whose checksum no longer matches is damage,
/// like any other failed rule. `full: true` ignores the record and checks every line
/// (`robot-worker verify`).
public struct JournalScan {
    /// One file of the journal, as the scan left it: open for reading, and how far it was read.
    public struct File {
        public var path: String
        public var fd: Int32
        public var end: Int
    }

    /// `event_log_integrity`'s result.
    public var check: StartupChecks.Result
    /// The rules' state after every line (fence memory, runs, first timestamp).
    public var state: JournalVerifier.State
    /// The journal's files, oldest first (segments, then `events.ndjson`); the caller closes them.
    public var files: [File]
    /// How the prefix was used, for the log: "verified prefix of N bytes (checksum) + M bytes checked".
    public var summary: String
    /// The record that describes the journal now (nil when the check failed).
    public var record: VerifiedPrefix?
    /// Bytes re-read for checksums only, and bytes checked line by line.
    public var prefixBytes = 0
    public var checkedBytes = 0
    /// With `deferSegments`: the sealed segments whose checksums were not re-computed (their
    /// names and exact sizes matched the record), for `SegmentAudit` to check after READY.
    public var deferred: [SegmentAudit.Segment] = []

    /// Scans the journal at `journalPath` (whose device and inode are `identity`) with the record
    /// at its `verifiedPath`, if any. Never throws: an unreadable file fails the check with why.
    /// `deferSegments: true` (the worker's start) checks the sealed segments of a matching record
    /// by name and exact size only and leaves their checksums to `SegmentAudit` (`deferred`).
    public static func run(
        journalPath: String, identity: (device: UInt64, inode: UInt64), tornBytes: Int, full: Bool = false,
        deferSegments: Bool = false
    ) -> JournalScan {
        let layout = JournalSegments(journalPath: journalPath)
        let segments = layout.list()
        var files: [File] = []
        for path in segments + [journalPath] {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let why = SystemError("open \(path)")
                for f in files { close(f.fd) }
                return failed(StartupChecks.unreadableJournal("\(why)"), files: [])
            }
            var st = stat()
            fstat(fd, &st)
            files.append(File(path: path, fd: fd, end: Int(st.st_size)))
        }
        var notes: [String] = []
        var verifier = JournalVerifier()
        var scan = JournalScan(
            check: StartupChecks.Result(name: StartupChecks.eventLogIntegrity, passed: true, detail: ""), state: JournalVerifier.State(),
            files: files, summary: "", record: nil)
        // Where the full rules start: (file index, offset) after the verified prefix.
        var startFile = 0
        var startOffset = 0
        var activeCRC: UInt32 = 0
        var sealed: [VerifiedPrefix.Segment] = []
        let active = files.count - 1
        switch full ? nil : VerifiedPrefix.read(layout.verifiedPath) {
        case nil:
            notes.append(full ? "full check" : "no verified prefix yet: every line checked")
        case .failure(let why):
            notes.append("\(layout.verifiedPath): \(why): every line checked")
        case .success(let record):
            let names = segments.map { String($0.split(separator: "/").last ?? "") }
            if record.device != identity.device || record.inode != identity.inode {
                notes.append("the verified prefix names another journal file (replaced or restored): every line checked")
            } else if record.segments.map(\.name) != names {
                notes.append("the segments on disk are not the verified ones: every line checked")
            } else {
                // Same files: every verified byte must still be there and match.
                for (i, segment) in record.segments.enumerated() {
                    if deferSegments {
                        if let damage = sizeDamage(files[i], bytes: segment.bytes, exactSize: true) { return failed(damage, files: files) }
                        scan.deferred.append(.init(path: files[i].path, bytes: segment.bytes, crc32c: segment.crc32c))
                        continue
                    }
                    let damage = compare(files[i], bytes: segment.bytes, crc: segment.crc32c, exactSize: true)
                    scan.prefixBytes += segment.bytes
                    if let damage { return failed(damage, files: files) }
                }
                if let damage = compare(files[active], bytes: record.bytes, crc: record.crc32c, exactSize: false) {
                    return failed(damage, files: files)
                }
                scan.prefixBytes += record.bytes
                verifier = JournalVerifier(state: record.state)
                startFile = active
                startOffset = record.bytes
                activeCRC = record.crc32c
                sealed = record.segments
                notes.append("verified prefix of \(scan.prefixBytes) bytes matched its checksums")
                if !scan.deferred.isEmpty {
                    notes.append("\(scan.deferred.count) sealed segment(s) checked after READY")
                }
            }
        }
        for i in startFile..<files.count {
            let file = files[i]
            var crc: UInt32 = i == active ? activeCRC : 0
            let from = i == startFile ? startOffset : 0
            do {
                try JournalStream.forEachLine(fd: file.fd, from: from, to: file.end, path: file.path, crc: &crc) { line, _ in
                    verifier.check(line: line)
                    return !verifier.full
                }
            } catch {
                return failed(StartupChecks.unreadableJournal("\(error)"), files: files)
            }
            if verifier.full { break }
            scan.checkedBytes += file.end - from
            if i == active {
                activeCRC = crc
            } else {
                sealed.append(.init(name: String(file.path.split(separator: "/").last ?? ""), bytes: file.end, crc32c: crc))
            }
        }
        notes.append("\(scan.checkedBytes) bytes checked line by line")
        scan.summary = notes.joined(separator: "; ")
        scan.state = verifier.state
        scan.check = verifier.result(
            tornBytes: tornBytes, prefixNote: scan.prefixBytes > 0 ? " (\(scan.prefixBytes) bytes by checksum)" : "")
        if verifier.passed {
            scan.record = VerifiedPrefix(
                device: identity.device, inode: identity.inode, bytes: files[active].end, crc32c: activeCRC, segments: sealed,
                state: verifier.state, writtenAtUTC: UTCTimestamp.now())
        }
        return scan
    }

    /// Damage when `file` is shorter than `bytes` (or, for a sealed segment, not exactly that size)
    /// or its first `bytes` no longer have the checksum `crc`.
    private static func compare(_ file: File, bytes: Int, crc: UInt32, exactSize: Bool) -> StartupChecks.Result? {
        let name = file.path
        if let damage = sizeDamage(file, bytes: bytes, exactSize: exactSize) { return damage }
        do {
            let found = try JournalStream.checksum(fd: file.fd, length: bytes, path: name)
            guard found == crc else {
                return StartupChecks.Result(
                    name: StartupChecks.eventLogIntegrity, passed: false,
                    detail: "the verified prefix of \(name) (\(bytes) bytes) no longer matches its checksum (CRC-32C "
                        + "\(hex(found)), recorded \(hex(crc))): changed on disk since it was checked")
            }
        } catch {
            return StartupChecks.unreadableJournal("\(error)")
        }
        return nil
    }

    /// Damage when `file` is shorter than `bytes` (or, `exactSize`, not exactly that size).
    private static func sizeDamage(_ file: File, bytes: Int, exactSize: Bool) -> StartupChecks.Result? {
        guard file.end < bytes || (exactSize && file.end != bytes) else { return nil }
        return StartupChecks.Result(
            name: StartupChecks.eventLogIntegrity, passed: false,
            detail: "\(file.path) is \(file.end) bytes where its verified prefix is \(bytes) bytes (cut or changed since)")
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// A failed check still reads what it can of a damaged journal, every line, rules aside: the
    /// fence memory and the earlier runs to re-offer come from the lines that are events.
    private static func failed(_ check: StartupChecks.Result, files: [File]) -> JournalScan {
        var lenient = JournalVerifier()
        for file in files {
            var crc: UInt32 = 0
            try? JournalStream.forEachLine(fd: file.fd, from: 0, to: file.end, path: file.path, crc: &crc) { line, _ in
                lenient.check(line: line)
                return true
            }
        }
        return JournalScan(check: check, state: lenient.state, files: files, summary: check.detail, record: nil)
    }

    /// Closes the files (once the backlog no longer needs them).
    public func closeFiles() { for f in files { close(f.fd) } }
}
