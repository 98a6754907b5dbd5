import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A market's append-only event journal (`state/M/events.ndjson`): one event line per line, every
/// run of the market in one file. An event is appended and `fdatasync`ed before it goes anywhere
/// else, so an event the watchdog has seen is on disk even after a power loss.
///
/// Opened `O_APPEND`: the holder and a refused worker may both append, and a single `write` of a
/// line lands whole. Only the lock holder repairs the file (`repairTornTail`).
public final class Journal {
    public let path: String
    private var fd: Int32
    /// How long the last successful append's `fdatasync` took, in nanoseconds.
    public private(set) var lastSyncNanos: Int64 = 0
    /// Appends' `fdatasync` calls that returned success (the metric counts these, not events).
    public private(set) var completedSyncs = 0
    /// Makes the written lines durable: `fdatasync` (a test injects a slow or failing one).
    private let sync: (Int32) -> Int32

    public init(path: String, sync: @escaping (Int32) -> Int32 = { fdatasync($0) }) throws(SystemError) {
        self.path = path
        self.sync = sync
        fd = try Self.openForAppend(path)
    }

    /// The file's device and inode (the verified prefix names the file by them).
    public var identity: (device: UInt64, inode: UInt64) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (0, 0) }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Opens the journal for appending; a journal it creates is made durable at once (the folder
    /// is fsynced), so the events synced into it survive a power loss with their file.
    private static func openForAppend(_ path: String) throws(SystemError) -> Int32 {
        let existing = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        if existing >= 0 { return existing }
        guard errno == ENOENT else { throw SystemError("open \(path)") }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        do { try FileIO.syncDirectory(of: path) } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Where `rotate` moves the journal: `events.1.ndjson` next to `events.ndjson`.
    public var rotatedPath: String {
        path.hasSuffix(".ndjson") ? String(path.dropLast(".ndjson".count)) + ".1.ndjson" : path + ".1"
    }

    /// Renames the journal to `rotatedPath` (replacing the previous one) and starts an empty
    /// journal at `path`. Call it only while holding the market's lock and once every event in the
    /// journal is acked: the rotated file is the last copy of what it holds. Creating the new
    /// journal fsyncs the folder, which makes the rename durable too. On failure the journal keeps
    /// being appended where it was.
    public func rotate() throws(SystemError) {
        guard rename(path, rotatedPath) == 0 else { throw SystemError("rename \(path)") }
        let fresh: Int32
        do {
            fresh = try Self.openForAppend(path)
        } catch {
            _ = rename(rotatedPath, path)
            throw error
        }
        close(fd)
        fd = fresh
    }

    deinit { close(fd) }

    /// Seals the journal as the segment `segmentPath` (its events not all acked yet: the watchdog is
    /// away) and starts an empty journal at `path`; the new file's creation fsyncs the folder, which
    /// makes the rename durable. Call it only while holding the market's lock.
    public func rotate(toSegment segmentPath: String) throws(SystemError) {
        guard rename(path, segmentPath) == 0 else { throw SystemError("rename \(path)") }
        let fresh: Int32
        do {
            fresh = try Self.openForAppend(path)
        } catch {
            _ = rename(segmentPath, path)
            throw error
        }
        close(fd)
        fd = fresh
    }

    /// Moves the journal aside as `events.ndjson.damaged-SUFFIX` (kept for the operator, never
    /// deleted) and starts a new one. Call it only while holding the market's lock.
    public func quarantine(suffix: String) throws(SystemError) -> String {
        let aside = path + ".damaged-" + suffix
        guard rename(path, aside) == 0 else { throw SystemError("rename \(path)") }
        let fresh = try Self.openForAppend(path)
        close(fd)
        fd = fresh
        return aside
    }

    /// Appends whole lines (each ending in a newline) in one write, then `fdatasync` (one for all of
    /// them: `EventLog`'s group commit hands one loop iteration's lines at once). A write that
    /// fails part way (a full disk) is cut back off, so the journal never keeps half a line.
    public func append(_ bytes: [UInt8]) throws(SystemError) {
        let before = size
        do throws(SystemError) {
            try FileIO.append(fd, bytes)
            let syncStart = MonotonicClock.nowNanos()
            guard sync(fd) == 0 else { throw SystemError("fdatasync \(path)") }
            lastSyncNanos = MonotonicClock.nowNanos() - syncStart
            completedSyncs += 1
        } catch {
            _ = ftruncate(fd, off_t(before))
            throw error
        }
    }

    /// The journal's size in bytes.
    public var size: Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    /// A crash in the middle of a write can leave a last line without its newline. Truncates the
    /// file after its last complete line and returns how many bytes were cut (0 when none). Call it
    /// only while holding the market's lock.
    @discardableResult
    public func repairTornTail() throws(SystemError) -> Int {
        let size = self.size
        guard size > 0 else { return 0 }
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        guard reader >= 0 else { throw SystemError("open \(path)") }
        defer { close(reader) }
        var end = size
        var chunk = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - chunk.count)
            let n = chunk.withUnsafeMutableBytes { pread(reader, $0.baseAddress, end - start, off_t(start)) }
            guard n == end - start else { throw SystemError("pread \(path)") }
            if let i = chunk[0..<n].lastIndex(of: UInt8(ascii: "\n")) {
                let keep = start + i + 1
                if keep == size { return 0 }
                guard ftruncate(fd, off_t(keep)) == 0, fdatasync(fd) == 0 else { throw SystemError("ftruncate \(path)") }
                return size - keep
            }
            end = start
        }
        guard ftruncate(fd, 0) == 0, fdatasync(fd) == 0 else { throw SystemError("ftruncate \(path)") }
        return size
    }
}
