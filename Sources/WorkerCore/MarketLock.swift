#if canImport(Glibc)
import Glibc
#endif
import Platform
import Synchronization
import Wire

/// The single-executor guard of one canonical market: an `flock(2)` on `canonical_M.lock`, held
/// for the worker's whole life and released by the kernel when the holder dies.
///
/// Acquisition (`acquire`):
/// 1. open the lock file `O_RDWR|O_CREAT|O_CLOEXEC` (never unlinked, never replaced by us);
/// 2. `flock(LOCK_EX|LOCK_NB)`; if another process holds it: `.alreadyActive`, naming the holder
///    from the record once the kernel confirms that pid holds the lock;
/// 3. `fstat` of the descriptor vs `stat` of the path: if they differ the file was replaced or
///    deleted between open and lock: start again;
/// 4. if the fence file names a different lock inode that a live process still holds (the lock
///    file was deleted or replaced under a live holder): `.alreadyActive` too;
/// 5. read the previous record: empty means released cleanly, a record means that run crashed
///    (stale), anything else means holder unknown;
/// 6. fence = max(fence file, record) + 1, written to the fence file atomically, then the record
///    written in place on the locked file (`ftruncate`, `pwrite`, `fsync`).
public final class MarketLock {
    public let canonical: String
    public let path: String
    public let fencePath: String
    public private(set) var record: LockRecord
    private var fd: Int32

    /// Who held the lock before a successful acquisition.
    public enum Previous: Sendable, Equatable {
        /// The record names a run that no longer holds the lock: it crashed.
        case crashed(LockRecord)
        /// The lock file held bytes that are not a record (torn write or damage).
        case unknown(byteCount: Int)
    }

    /// The live holder that refused us.
    public struct Holder: Sendable, Equatable {
        /// The holder's record, when it could be read and the kernel confirms its pid.
        public var record: LockRecord?
        /// Pids the kernel says hold the lock.
        public var kernelPIDs: [Int32]
        /// How the holder was found, for the event and the log.
        public var detail: String
    }

    public enum Outcome {
        case acquired(MarketLock, previous: Previous?)
        case alreadyActive(Holder)
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The lock file or its folder cannot be opened, created or written.
        case cannotUse(path: String, SystemError)
        /// The fence file exists but is not a fence record: never restart the fence from a guess.
        case fenceDamaged(path: String)
        /// The path kept changing under us.
        case unstable(path: String)

        public var description: String {
            switch self {
            case .cannotUse(let path, let e): return "\(path): \(e)"
            case .fenceDamaged(let path):
                return "\(path): the fence file is damaged; it must name the last fence handed out. Restore it, or write "
                    + "{\"fence\":N,...} with N at least the highest fence the watchdog has seen for this market"
            case .unstable(let path): return "\(path): the lock file was replaced repeatedly while being locked"
            }
        }
    }

    private init(canonical: String, path: String, fencePath: String, fd: Int32, record: LockRecord) {
        self.canonical = canonical
        self.path = path
        self.fencePath = fencePath
        self.fd = fd
        self.record = record
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Tests only: called with the lock path between its `open` and its `flock`, where a test
    /// replaces the file to check that the holder ends up locking the file the path names.
    static let betweenOpenAndLock = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Tries once to take the lock of `canonical` (already canonicalised and checked).
    public static func acquire(
        canonical: String, lockPath: String, fencePath: String, runID: String, host: String
    ) throws(Failure) -> Outcome {
        for _ in 0..<16 {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { throw .cannotUse(path: lockPath, SystemError("open")) }
            if let hook = betweenOpenAndLock.withLock({ $0 }) { hook(lockPath) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = SystemError("flock")
                guard e.code == EWOULDBLOCK else {
                    close(fd)
                    throw .cannotUse(path: lockPath, e)
                }
                var st = stat()
                fstat(fd, &st)
                let holder = identifyHolder(fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                close(fd)
                return .alreadyActive(holder)
            }
            var mine = stat()
            var atPath = stat()
            guard fstat(fd, &mine) == 0 else {
                close(fd)
                throw .cannotUse(path: lockPath, SystemError("fstat"))
            }
            if stat(lockPath, &atPath) != 0 || atPath.st_ino != mine.st_ino || atPath.st_dev != mine.st_dev {
                close(fd)
                continue
            }
            let device = UInt64(mine.st_dev)
            let inode = UInt64(mine.st_ino)
            let fenceBytes: [UInt8]?
            do throws(SystemError) { fenceBytes = try FileIO.readFile(fencePath) } catch {
                close(fd)
                throw .cannotUse(path: fencePath, error)
            }
            var fenceRecord: FenceFile?
            if let fenceBytes {
                guard let parsed = FenceFile.parse(fenceBytes) else {
                    close(fd)
                    throw .fenceDamaged(path: fencePath)
                }
                fenceRecord = parsed
            }
            if let f = fenceRecord, f.lockDevice != device || f.lockInode != inode {
                let pids = FlockTable.holders(device: f.lockDevice, inode: f.lockInode)
                if !pids.isEmpty {
                    close(fd)
                    let record = LockRecord(
                        runID: f.runID, acquiredAtUTC: "", canonical: canonical, pid: f.pid, host: f.host, fence: f.fence)
                    return .alreadyActive(
                        Holder(
                            record: pids.contains(f.pid) ? record : nil, kernelPIDs: pids,
                            detail: "the lock file was deleted or replaced; pid \(pids.map(String.init).joined(separator: ",")) "
                                + "still holds the lock on its previous inode \(f.lockInode)"))
                }
            }
            let previousBytes: [UInt8]
            do throws(SystemError) { previousBytes = try FileIO.readAll(fd) } catch {
                close(fd)
                throw .cannotUse(path: lockPath, error)
            }
            var previous: Previous?
            var previousFence: Int64 = 0
            switch LockRecord.parse(previousBytes) {
            case .released: previous = nil
            case .record(let r):
                previous = .crashed(r)
                previousFence = r.fence
            case .unreadable(let n): previous = .unknown(byteCount: n)
            }
            let fence = max(fenceRecord?.fence ?? 0, previousFence) + 1
            let record = LockRecord(
                runID: runID, acquiredAtUTC: UTCTimestamp.now(), canonical: canonical, pid: getpid(), host: host, fence: fence)
            do throws(SystemError) {
                try FileIO.replaceAtomically(
                    fencePath,
                    FenceFile(fence: fence, runID: runID, pid: getpid(), host: host, lockDevice: device, lockInode: inode).encoded(),
                    mode: 0o644)
                try writeRecord(fd: fd, record.encoded())
            } catch {
                close(fd)
                throw .cannotUse(path: lockPath, error)
            }
            let lock = MarketLock(canonical: canonical, path: lockPath, fencePath: fencePath, fd: fd, record: record)
            return .acquired(lock, previous: previous)
        }
        throw .unstable(path: lockPath)
    }

    /// True while the path still names the inode this lock holds (an operator or a bug may have
    /// deleted or replaced the file; the lock itself is unaffected).
    public var pathStillNamesLock: Bool {
        var mine = stat()
        var atPath = stat()
        guard fd >= 0, fstat(fd, &mine) == 0, stat(path, &atPath) == 0 else { return false }
        return mine.st_ino == atPath.st_ino && mine.st_dev == atPath.st_dev
    }

    /// Clears the record (an empty file means "released cleanly") and releases the lock.
    public func release() throws(SystemError) {
        guard fd >= 0 else { return }
        defer {
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
        guard ftruncate(fd, 0) == 0 else { throw SystemError("ftruncate \(path)") }
        guard fsync(fd) == 0 else { throw SystemError("fsync \(path)") }
    }

    private static func writeRecord(fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        guard ftruncate(fd, 0) == 0 else { throw SystemError("ftruncate") }
        try FileIO.writeAll(fd, bytes, at: 0)
        guard fsync(fd) == 0 else { throw SystemError("fsync") }
    }

    /// Reads the record of the process that holds the lock. A winner writes its record right after
    /// locking, so a loser may first see the previous run's record or a truncated file: it re-reads
    /// for up to half a second until the record's pid is one the kernel says holds the lock.
    private static func identifyHolder(fd: Int32, device: UInt64, inode: UInt64) -> Holder {
        let deadline = MonotonicClock.nowNanos() + 500_000_000
        var pids: [Int32] = []
        var last: LockRecord.Contents = .released
        repeat {
            pids = FlockTable.holders(device: device, inode: inode)
            last = LockRecord.parse((try? FileIO.readAll(fd)) ?? [])
            if case .record(let r) = last, pids.contains(r.pid) {
                return Holder(record: r, kernelPIDs: pids, detail: "the lock record names pid \(r.pid), which holds the lock")
            }
            usleep(2_000)
        } while MonotonicClock.nowNanos() < deadline
        let shown = pids.isEmpty ? "no pid visible in /proc/locks" : "pid " + pids.map(String.init).joined(separator: ",")
        return Holder(record: nil, kernelPIDs: pids, detail: "the lock record could not be confirmed (\(shown) holds the lock)")
    }
}
