import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The events of earlier runs that a starting worker offers the watchdog again: every
/// non-heartbeat event of the most recent `maxRuns` runs in the journal (its sealed segments, then
/// `events.ndjson`) that the watchdog has not acked. They are not held in memory: the journal's
/// files stay open as the start-up scan found them (`JournalScan`) and are read again, a chunk at
/// a time, while they are sent, in journal order (so each run's seqs go up). A rotation or a
/// quarantine renames the files, never the open descriptors, so nothing is lost meanwhile.
///
/// What a run still owes is `lastSeq - acked`, from the scan's run summary and the watchdog's
/// welcome and acks; a welcome rewinds the stream to the start (after a reconnect everything
/// after `applied` is sent again), and lines at or below a run's ack are skipped.
public final class JournalBacklog {
    public struct Run: Sendable, Equatable {
        public var runID: String
        public var lastSeq: Int64
        public var acked: Int64 = 0
        public var pending: Int64 { max(0, lastSeq - acked) }
    }

    /// At most this many of the most recent earlier runs are offered to the watchdog; it
    /// remembers the applied seq of 64 runs per market, so it never sees an old run it forgot.
    public static let maxRuns = 32
    static let readChunk = 256 * 1024

    /// Earlier runs, in the order they first appear in the journal.
    public private(set) var runs: [Run]
    private var index: [String: Int] = [:]
    private var files: [JournalScan.File]
    /// Where the stream is: a file of `files` and an offset in it.
    private var fileIndex = 0
    private var offset = 0
    /// Lines the stream found that are not events (skipped, never sent).
    public private(set) var skipped = 0
    /// The bytes of the journal's files the backlog keeps needed, while any run owes events.
    public let fileBytes: Int
    private var buffer: [UInt8] = []
    /// The sealed segments' check after READY: the stream holds at a segment it has not confirmed
    /// yet and passes over one it found damaged (its lines stay owed, never sent).
    public var audit: SegmentAudit?

    /// The earlier runs of `state` (the current run left out) over `files`, which the backlog closes
    /// once every run is acked.
    public init(state: JournalVerifier.State, files: [JournalScan.File], currentRun: String) {
        var runs = state.runs.compactMap { r -> Run? in
            guard let last = r.lastSeq, r.runID != currentRun else { return nil }
            return Run(runID: r.runID, lastSeq: last)
        }
        if runs.count > Self.maxRuns { runs.removeFirst(runs.count - Self.maxRuns) }
        self.runs = runs
        self.files = files
        fileBytes = files.reduce(0) { $0 + $1.end }
        for (i, r) in runs.enumerated() { index[r.runID] = i }
        if runs.isEmpty { close() }
    }

    /// The runs of `runs` (this run's own spilled lines, `WatchdogLink`) over `files`.
    public init(runs: [Run], files: [JournalScan.File]) {
        self.runs = runs
        self.files = files
        fileBytes = files.reduce(0) { $0 + $1.end }
        for (i, r) in runs.enumerated() { index[r.runID] = i }
        if pending == 0 { close() }
    }

    /// Opens the journal at `journalPath` as it is now (its segments, then itself, to their
    /// current ends) for reading.
    public static func open(journalPath: String) -> [JournalScan.File] {
        (JournalSegments(journalPath: journalPath).list() + [journalPath]).compactMap { path in
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            var st = stat()
            fstat(fd, &st)
            return JournalScan.File(path: path, fd: fd, end: Int(st.st_size))
        }
    }

    deinit { close() }

    /// Events still owed over all runs.
    public var pending: Int { runs.reduce(0) { $0 + Int($1.pending) } }

    /// Runs that still owe events (the hello's `resume_runs`).
    public var resumeRunIDs: [String] { runs.filter { $0.pending > 0 }.map(\.runID) }

    /// Bytes kept for the un-acked ceiling: the files' size while anything is owed.
    public var unackedBytes: Int { pending > 0 ? fileBytes : 0 }

    /// The watchdog's welcome: its applied seq per run. Rewinds the stream.
    public func welcome(applied: (String) -> Int64?) {
        for i in runs.indices { runs[i].acked = max(runs[i].acked, applied(runs[i].runID) ?? 0) }
        fileIndex = 0
        offset = 0
        settle()
    }

    /// An ack of `runID` through `seq`; false when the run is not one of the backlog's.
    @discardableResult
    public func ack(runID: String, seq: Int64) -> Bool {
        guard let i = index[runID] else { return false }
        runs[i].acked = max(runs[i].acked, seq)
        settle()
        return true
    }

    /// Whether the stream has lines left to read now.
    public var streaming: Bool { pending > 0 && fileIndex < files.count && !waiting }

    /// Whether the stream holds at a sealed segment the audit has not confirmed yet.
    public var waiting: Bool {
        guard let audit, pending > 0, fileIndex < files.count else { return false }
        return audit.holds(files[fileIndex].path)
    }

    /// Appends owed lines to `batch` until it holds `limit` bytes or the stream ends.
    public func read(into batch: inout [UInt8], limit: Int) {
        while batch.count < limit, pending > 0, fileIndex < files.count {
            let file = files[fileIndex]
            if let audit, audit.holds(file.path) { return }
            if offset >= file.end || audit?.damaged.contains(where: { $0.path == file.path }) == true {
                fileIndex += 1
                offset = 0
                continue
            }
            var want = Self.readChunk
            var n = 0
            while true {
                if buffer.count < want { buffer = [UInt8](repeating: 0, count: want) }
                let count = min(want, file.end - offset)
                n = buffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, count, off_t(offset)) }
                if n <= 0 {
                    // The file cannot be read any more: what it still held stays owed in its journal.
                    fileIndex += 1
                    offset = 0
                    break
                }
                // A chunk that ends inside a line is read again, larger, unless it is the file's end.
                if buffer[0..<n].contains(UInt8(ascii: "\n")) || offset + n >= file.end { break }
                want *= 2
            }
            guard n > 0 else { continue }
            buffer.withUnsafeBufferPointer { all in
                var start = 0
                while start < n, batch.count < limit {
                    let end = all[start..<n].firstIndex(of: UInt8(ascii: "\n")) ?? n
                    if end == n, offset + n < file.end { break } // an incomplete line: next read
                    let line = UnsafeBufferPointer(rebasing: all[start..<end])
                    start = min(n, end + 1)
                    offer(line, into: &batch)
                }
                offset += start
            }
        }
    }

    private func offer(_ line: UnsafeBufferPointer<UInt8>, into batch: inout [UInt8]) {
        guard !line.isEmpty else { return }
        guard let event = try? Event.decode(line: line) else {
            skipped += 1
            return
        }
        guard let seq = event.seq, let i = index[event.runID], seq > runs[i].acked else { return }
        batch.append(contentsOf: line)
        batch.append(UInt8(ascii: "\n"))
    }

    /// Once nothing is owed, the files are closed.
    private func settle() {
        if pending == 0 { close() }
    }

    private func close() {
        for f in files { Glibc.close(f.fd) }
        files = []
        fileIndex = 0
        offset = 0
        buffer = []
    }
}
