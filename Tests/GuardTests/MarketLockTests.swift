import Platform
import Synchronization
import TestSupport
import Testing
import Wire

@testable import Guard

#if canImport(Glibc)
import Glibc
#endif

let es = CanonicalMarket("ES")!

/// A market lock in its own temporary folder (never the repository's runtime_locks/).
struct LockPlace {
    let folder: TemporaryFolder
    var lockPath: String { folder.file("canonical_ES.lock") }
    var fencePath: String { folder.file("canonical_ES.fence") }

    init() throws { folder = try TemporaryFolder() }

    func acquire(_ runID: String) throws(MarketGuardFailure) -> MarketGuardOutcome {
        try MarketLock.acquire(market: es, lockPath: lockPath, fencePath: fencePath, runID: runID, host: "test-host")
    }

    /// The lock of a successful acquisition; records an issue otherwise.
    func acquired(
        _ runID: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (lock: MarketLock, previous: PreviousHolder?) {
        switch try acquire(runID) {
        case .acquired(let held, let previous): return (try #require(held as? MarketLock, sourceLocation: sourceLocation), previous)
        case .alreadyActive(let holder):
            Issue.record("expected to acquire, refused: \(holder.detail)", sourceLocation: sourceLocation)
            throw MarketGuardFailure.unstable(path: lockPath)
        }
    }

    func lockBytes() throws -> [UInt8] { try folder.read("canonical_ES.lock") }
    func fence() throws -> FenceFile? { FenceFile.parse(try folder.read("canonical_ES.fence")) }
}

@Suite("MarketLock")
struct MarketLockTests {
    @Test("the first acquisition gets fence 1 and no previous holder")
    func firstAcquire() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let before = UTCTimestamp.nowMicros()
        let (lock, previous) = try place.acquired("ES-run-1")
        #expect(previous == nil)
        #expect(lock.market == es)
        #expect(lock.path == place.lockPath)
        #expect(lock.fencePath == place.fencePath)
        #expect(lock.record.fence == 1)
        #expect(lock.record.runID == "ES-run-1")
        #expect(lock.record.canonical == "ES")
        #expect(lock.record.pid == getpid())
        #expect(lock.record.host == "test-host")
        let acquiredAt = try #require(UTCTimestamp.parse(lock.record.acquiredAtUTC))
        #expect(acquiredAt >= before && acquiredAt <= UTCTimestamp.nowMicros())
        #expect(lock.pathStillNamesLock)

        // The record is on the lock file, the fence file names it and the lock file's inode.
        #expect(try place.lockBytes() == MarketLock.padded(lock.record.encoded()))
        let identity = try fileIdentity(place.lockPath)
        #expect(
            try place.fence()
                == FenceFile(
                    fence: 1, runID: "ES-run-1", pid: getpid(), host: "test-host", lockDevice: identity.device, lockInode: identity.inode))
        #expect(FlockTable.holders(device: identity.device, inode: identity.inode).contains(getpid()))

        try lock.release()
        #expect(try place.lockBytes() == [])
    }

    @Test("a second acquisition while the first lock is held is refused, naming the holder")
    func alreadyActive() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let (first, _) = try place.acquired("ES-run-1")
        let outcome = try place.acquire("ES-run-2")
        guard case .alreadyActive(let holder) = outcome else {
            Issue.record("the second acquisition was not refused")
            return
        }
        #expect(holder.record == first.record)
        #expect(holder.record?.runID == "ES-run-1")
        #expect(holder.kernelPIDs == [getpid()])
        #expect(holder.detail == "the lock record names pid \(getpid()), which holds the lock")
        // The refused attempt changed nothing.
        #expect(try place.lockBytes() == MarketLock.padded(first.record.encoded()))
        #expect(try place.fence()?.fence == 1)
        #expect(try place.fence()?.runID == "ES-run-1")
        withExtendedLifetime(first) {}
    }

    @Test("after release a new acquisition gets the next fence and no previous holder")
    func releaseThenAcquire() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let (first, _) = try place.acquired("ES-run-1")
        try first.release()
        try first.release() // a second release does nothing
        #expect(LockRecord.parse(try place.lockBytes()) == .released)
        let (second, previous) = try place.acquired("ES-run-2")
        #expect(previous == nil)
        #expect(second.record.fence == 2)
        #expect(second.record.runID == "ES-run-2")
        #expect(try place.fence()?.fence == 2)
        try second.release()
        let (third, _) = try place.acquired("ES-run-3")
        #expect(third.record.fence == 3)
    }

    @Test("a holder that went away without releasing is reported as crashed")
    func crashedInProcess() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        var record: LockRecord?
        do {
            // Dropping the lock closes its descriptor: the kernel releases the flock, the record stays.
            let (first, _) = try place.acquired("ES-run-1")
            record = first.record
        }
        let stale = try #require(record)
        #expect(LockRecord.parse(try place.lockBytes()) == .record(stale))
        let (second, previous) = try place.acquired("ES-run-2")
        #expect(previous == .crashed(stale))
        #expect(second.record.fence == 2)
    }

    @Test("a lock file holding random bytes gives previous .unknown and fence 1")
    func randomBytes() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        var random = SplitMix64(seed: 99)
        let garbage = random.bytes(300)
        try place.folder.write("canonical_ES.lock", garbage)
        let (lock, previous) = try place.acquired("ES-run-1")
        #expect(previous == .unknown(byteCount: 300))
        #expect(lock.record.fence == 1)
        // The garbage is replaced by the record, not appended to.
        #expect(try place.lockBytes() == MarketLock.padded(lock.record.encoded()))
    }

    @Test("a valid record of a pid that does not hold the lock is a crashed run, and the fence continues from it")
    func crashedRecord() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let stale = LockRecord(
            runID: "ES-20261120T071500Z-00000001", acquiredAtUTC: "2026-11-20T07:15:00.000001Z", canonical: "ES", pid: 999_999,
            host: "other-host", fence: 41)
        try place.folder.write("canonical_ES.lock", stale.encoded())
        let (lock, previous) = try place.acquired("ES-run-1")
        #expect(previous == .crashed(stale))
        #expect(lock.record.fence == 42)
        #expect(try place.fence()?.fence == 42)
    }

    @Test("the fence is one more than the larger of the fence file and the record")
    func fenceIsTheMaximum() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let stale = LockRecord(
            runID: "ES-old", acquiredAtUTC: "2026-11-20T07:15:00.000001Z", canonical: "ES", pid: 999_999, host: "h", fence: 5)
        try place.folder.write("canonical_ES.lock", stale.encoded())
        // A fence file naming an inode nobody holds.
        let fence = FenceFile(fence: 50, runID: "ES-older", pid: 999_998, host: "h", lockDevice: 0, lockInode: 1)
        try place.folder.write("canonical_ES.fence", fence.encoded())
        let (lock, previous) = try place.acquired("ES-run-1")
        #expect(previous == .crashed(stale))
        #expect(lock.record.fence == 51)
    }

    @Test("a damaged fence file is refused and the lock file is left as it was", arguments: [false, true])
    func fenceDamaged(_ empty: Bool) throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        var random = SplitMix64(seed: 3)
        try place.folder.write("canonical_ES.fence", empty ? [] : random.bytes(64))
        try place.folder.write("canonical_ES.lock", sampleRecord.encoded())
        do {
            _ = try place.acquire("ES-run-1")
            Issue.record("a damaged fence file was accepted")
        } catch {
            guard case .fenceDamaged(let path) = error else {
                Issue.record("expected .fenceDamaged, got \(error)")
                return
            }
            #expect(path == place.fencePath)
            #expect(error.description.hasPrefix(place.fencePath + ": the fence file is damaged"))
        }
        #expect(try place.lockBytes() == sampleRecord.encoded())
        // Nothing holds the lock afterwards.
        let identity = try fileIdentity(place.lockPath)
        #expect(!FlockTable.holders(device: identity.device, inode: identity.inode).contains(getpid()))
    }

    @Test("a lock file deleted under a live holder does not let a second holder in")
    func deletedUnderHolder() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let (first, _) = try place.acquired("ES-run-1")
        #expect(unlink(place.lockPath) == 0)
        #expect(!first.pathStillNamesLock)
        let outcome = try place.acquire("ES-run-2")
        guard case .alreadyActive(let holder) = outcome else {
            Issue.record("a second holder got in after the lock file was deleted")
            return
        }
        #expect(holder.record?.runID == "ES-run-1")
        #expect(holder.record?.pid == getpid())
        #expect(holder.record?.fence == 1)
        #expect(holder.kernelPIDs == [getpid()])
        #expect(holder.detail.contains("the lock file was deleted or replaced"))
        withExtendedLifetime(first) {}
    }

    @Test("a lock file replaced between its open and its flock is locked again at the inode the path names")
    func replacedBetweenOpenAndLock() throws {
        let place = try LockPlace()
        let path = place.lockPath
        let replacements = Mutex(0)
        MarketLock.betweenOpenAndLock.withLock {
            $0 = { p in
                guard p == path,
                    replacements.withLock({ n in
                        n += 1
                        return n
                    }) == 1
                else { return }
                // Someone replaces the file after our open: a new inode at the path.
                let tmp = path + ".new"
                close(open(tmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644))
                rename(tmp, path)
            }
        }
        defer { MarketLock.betweenOpenAndLock.withLock { $0 = nil } }
        let (lock, _) = try place.acquired("ES-20261121T071500Z-0000a001")
        #expect(replacements.withLock { $0 } >= 2, "the file was replaced once and the lock was tried again")
        #expect(lock.pathStillNamesLock, "the lock is held on an inode the path no longer names")
        let other = open(path, O_RDWR | O_CLOEXEC)
        defer { close(other) }
        #expect(flock(other, LOCK_EX | LOCK_NB) != 0, "the file at the path is not locked")
        #expect(
            try place.fence()?.lockInode
                == {
                    var st = stat()
                    fstat(other, &st)
                    return UInt64(st.st_ino)
                }())
    }

    @Test("a lock folder that does not exist cannot be used")
    func missingFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let lockPath = folder.file("nowhere/canonical_ES.lock")
        do {
            _ = try MarketLock.acquire(
                market: es, lockPath: lockPath, fencePath: folder.file("nowhere/canonical_ES.fence"), runID: "R", host: "h")
            Issue.record("acquired in a folder that does not exist")
        } catch {
            guard case .cannotUse(let path, let cause) = error else {
                Issue.record("expected .cannotUse, got \(error)")
                return
            }
            #expect(path == lockPath)
            #expect(cause.code == ENOENT)
        }
    }

    @Test("a raise overwrites the one-sector fence file and record in place; a file not yet like that is replaced")
    func raiseInPlace() throws {
        let place = try LockPlace()
        defer { place.folder.remove() }
        let (lock, _) = try place.acquired("ES-run-1")
        func inode(_ path: String) -> UInt64 {
            var st = stat()
            return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        }
        let (fenceInode, lockInode) = (inode(place.fencePath), inode(place.lockPath))
        #expect(try place.folder.read("canonical_ES.fence").count == MarketLock.sectorBytes)
        #expect(try place.lockBytes().count == MarketLock.sectorBytes)
        try lock.raiseFence(to: 9)
        #expect(inode(place.fencePath) == fenceInode, "overwritten in place, not renamed over")
        #expect(inode(place.lockPath) == lockInode)
        #expect(try place.fence()?.fence == 9)
        #expect(try place.folder.read("canonical_ES.fence").count == MarketLock.sectorBytes)
        guard case .record(let r) = LockRecord.parse(try place.lockBytes()) else {
            Issue.record("the record does not parse after the raise")
            return
        }
        #expect(r.fence == 9 && lock.record.fence == 9)
        // A fence file of an older length (written by an earlier version) is replaced, padded.
        let old = try #require(try place.fence())
        var older = old
        older.fence = 9
        try place.folder.write("canonical_ES.fence", older.encoded())
        try lock.raiseFence(to: 10)
        #expect(try place.fence()?.fence == 10)
        #expect(try place.folder.read("canonical_ES.fence").count == MarketLock.sectorBytes)
        #expect(inode(place.fencePath) != fenceInode, "replaced by a rename")
    }
}
