import Platform
import Synchronization
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// A held flock guard of one canonical market (`FlockMarketGuard`): an `flock(2)` on
/// `canonical_M.lock`, held for the worker's whole life and released by the kernel when the holder dies.
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
public final class MarketLock: HeldMarketGuard {
    public let market: CanonicalMarket
    public let path: String
    public let fencePath: String
    public private(set) var record: LockRecord
    private var fd: Int32

    private init(market: CanonicalMarket, path: String, fencePath: String, fd: Int32, record: LockRecord) {
        self.market = market
        self.path = path
        self.fencePath = fencePath
        self.fd = fd
        self.record = record
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Tests only: called with the lock path between its `open` and its `flock`, where a test
    /// replaces the file to check that the holder ends up locking the file the path names.
    static let betweenOpenAndLock = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// Tries once to take the lock of `market` on the given lock and fence files.
    public static func acquire(
        market: CanonicalMarket, lockPath: String, fencePath: String, runID: String, host: String,
        fenceFloor: Int64 = 0, home: String? = nil
    ) throws(MarketGuardFailure) -> MarketGuardOutcome {
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
                let holder = identifyHolder(
                    fd: fd, device: UInt64(st.st_dev), inode: UInt64(st.st_ino), lockPath: lockPath, fencePath: fencePath)
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
                        runID: f.runID, acquiredAtUTC: "", canonical: market.name, pid: f.pid, host: f.host, fence: f.fence)
                    return .alreadyActive(
                        MarketHolder(
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
            var previous: PreviousHolder?
            var previousFence: Int64 = 0
            switch LockRecord.parse(previousBytes) {
            case .released: previous = nil
            case .record(let r):
                previous = .crashed(r)
                previousFence = r.fence
            case .unreadable(let n): previous = .unknown(byteCount: n)
            }
            let fence = max(fenceRecord?.fence ?? 0, previousFence, fenceFloor) + 1
            let record = LockRecord(
                runID: runID, acquiredAtUTC: UTCTimestamp.now(), canonical: market.name, pid: getpid(), host: host, fence: fence,
                home: home)
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
            let lock = MarketLock(market: market, path: lockPath, fencePath: fencePath, fd: fd, record: record)
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

    /// Raises this holder's fence to `fence` (above every fence the market's history knows, when
    /// the lock folder lost its own: docs/robot-worker.md, "Fence memory"): the fence file first,
    /// then the record, both durable before it returns. Only up; only while the lock is held.
    public func raiseFence(to fence: Int64) throws(SystemError) {
        guard fd >= 0 else { throw SystemError("raise the fence of \(path): the lock is released") }
        guard fence > record.fence else { return }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat \(path)") }
        var raised = record
        raised.fence = fence
        try FileIO.replaceAtomically(
            fencePath,
            FenceFile(
                fence: fence, runID: record.runID, pid: record.pid, host: record.host, lockDevice: UInt64(st.st_dev),
                lockInode: UInt64(st.st_ino)
            )
            .encoded(),
            mode: 0o644)
        try Self.writeRecord(fd: fd, raised.encoded())
        record = raised
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
    /// for up to half a second until the record's pid is one the kernel says holds the market's lock
    /// (`FlockMarketGuard.holds`, the answer the watchdog's admission asks too).
    private static func identifyHolder(fd: Int32, device: UInt64, inode: UInt64, lockPath: String, fencePath: String) -> MarketHolder {
        let deadline = MonotonicClock.nowNanos() + 500_000_000
        var pids: [Int32] = []
        var last: LockRecord.Contents = .released
        repeat {
            pids = FlockTable.holders(device: device, inode: inode)
            last = LockRecord.parse((try? FileIO.readAll(fd)) ?? [])
            if case .record(let r) = last, FlockMarketGuard.holds(pid: r.pid, lockPath: lockPath, fencePath: fencePath) {
                return MarketHolder(record: r, kernelPIDs: pids, detail: "the lock record names pid \(r.pid), which holds the lock")
            }
            usleep(2_000)
        } while MonotonicClock.nowNanos() < deadline
        let shown = pids.isEmpty ? "no pid visible in /proc/locks" : "pid " + pids.map(String.init).joined(separator: ",")
        return MarketHolder(record: nil, kernelPIDs: pids, detail: "the lock record could not be confirmed (\(shown) holds the lock)")
    }
}
