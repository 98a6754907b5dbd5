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
                    padded(
                        FenceFile(fence: fence, runID: runID, pid: getpid(), host: host, lockDevice: device, lockInode: inode).encoded()),
                    mode: 0o644)
                try writeRecord(fd: fd, padded(record.encoded()))
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
    /// durable before it returns, then the record. Only up; only while the lock is held.
    ///
    /// The fence file is overwritten in place when it can be (`overwrite`: one write, one
    /// fdatasync, no metadata to journal), else replaced the old way (a temporary file, fsync,
    /// rename, the folder's fsync). The record is overwritten in place without a sync of its own:
    /// the fence file carries the fence across a power loss (an acquisition takes the higher of
    /// the two), and the living read the record from the page cache. A record that cannot be
    /// overwritten in place is rewritten and synced as at acquisition.
    public func raiseFence(to fence: Int64) throws(SystemError) {
        guard fd >= 0 else { throw SystemError("raise the fence of \(path): the lock is released") }
        guard fence > record.fence else { return }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat \(path)") }
        var raised = record
        raised.fence = fence
        let fenceBytes = Self.padded(
            FenceFile(
                fence: fence, runID: record.runID, pid: record.pid, host: record.host, lockDevice: UInt64(st.st_dev),
                lockInode: UInt64(st.st_ino)
            )
            .encoded())
        if try !Self.overwrite(path: fencePath, fenceBytes) { try FileIO.replaceAtomically(fencePath, fenceBytes, mode: 0o644) }
        let recordBytes = Self.padded(raised.encoded())
        if try !Self.overwrite(fd: fd, recordBytes, sync: false) { try Self.writeRecord(fd: fd, recordBytes) }
        record = raised
    }

    /// The length every fence file and lock record is written at (padded with spaces before
    /// its newline; both parsers skip them): one disk sector.
    static let sectorBytes = 512

    /// `bytes` (a record ending in a newline) padded to `sectorBytes`; unchanged when longer.
    static func padded(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count < sectorBytes, bytes.last == UInt8(ascii: "\n") else { return bytes }
        var out = bytes
        out.removeLast()
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: sectorBytes - bytes.count))
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Overwrites the file at `fd` with `bytes` in place: one write at offset 0 and one
    /// fdatasync. Only when the file is already exactly `bytes.count` long and that is one sector
    /// (`sectorBytes`): the length does not change, so fdatasync writes the data block and no
    /// metadata (no file-system journal commit, the slow part of an fsync on a busy disk), and a
    /// write within one sector reaches the disk whole or not at all (the assumption PostgreSQL
    /// makes of its 512-byte pg_control), so after a power loss the file holds the old record or
    /// the new one, never a mix. False, with nothing written, when the file is not like that.
    /// `sync: false` leaves the write to the kernel's own writeback (still one sector).
    static func overwrite(fd: Int32, _ bytes: [UInt8], sync: Bool = true) throws(SystemError) -> Bool {
        var st = stat()
        guard bytes.count == sectorBytes, fstat(fd, &st) == 0, Int(st.st_size) == bytes.count else { return false }
        try FileIO.writeAll(fd, bytes, at: 0)
        guard !sync || fdatasync(fd) == 0 else { throw SystemError("fdatasync") }
        return true
    }

    /// `overwrite` of the file at `path` (not followed if a symbolic link); false when it does not
    /// exist. Opened for reading too: a file system may read the old bytes before a write (the
    /// power-loss test file system keeps them until the next sync).
    static func overwrite(path: String, _ bytes: [UInt8]) throws(SystemError) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw SystemError("open \(path)")
        }
        defer { close(fd) }
        return try overwrite(fd: fd, bytes)
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
