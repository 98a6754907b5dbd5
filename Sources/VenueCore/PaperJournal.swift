import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The paper venue's journal (`state_dir/journal.ndjson`): one record per line (an order's new
/// state, a position, a fence), appended and `fdatasync`ed before the venue answers the requests
/// that made them. At start it is replayed into a `PaperBook` (a torn last line, left by a crash
/// mid-write, is skipped: it was never answered) and rewritten compacted, atomically.
public final class PaperJournal {
    public let path: String
    private var fd: Int32
    /// Lines at start that were not records (a torn tail, damage), skipped.
    public private(set) var skipped = 0
    public private(set) var lastSyncNanos: Int64 = 0

    /// Opens (creating the folder), replays into `book` and compacts.
    public init(folder: String, book: inout PaperBook) throws(SystemError) {
        try Directories.make(folder)
        path = folder + "/journal.ndjson"
        if let bytes = try FileIO.readFile(path, limit: 1 << 31) {
            var framer = LineFramer(maxLineBytes: 1 << 20)
            framer.append(bytes)
            var bad = 0
            framer.drain { frame in
                guard case .line(let line) = frame, let value = try? JSONParser.parse(line), book.apply(value) else {
                    bad += 1
                    return
                }
            }
            if framer.pendingBytes > 0 { bad += 1 }
            skipped = bad
        }
        var compact: [UInt8] = []
        for r in book.records { compact += r.ndjsonLine }
        try FileIO.replaceAtomically(path, compact, mode: 0o600)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SystemError("open \(path)") }
    }

    deinit { close(fd) }

    /// Appends `records` and waits until they are on disk.
    public func write(_ records: [JSONValue]) throws(SystemError) {
        guard !records.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 320)
        for r in records {
            r.write(into: &bytes)
            bytes.append(UInt8(ascii: "\n"))
        }
        try FileIO.append(fd, bytes)
        let start = MonotonicClock.nowNanos()
        guard fdatasync(fd) == 0 else { throw SystemError("fdatasync \(path)") }
        lastSyncNanos = MonotonicClock.nowNanos() - start
    }
}
