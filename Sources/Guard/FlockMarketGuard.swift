import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The `flock(2)` backend of `MarketGuard`: one lock file and one fence file per market in a lock
/// folder (`canonical_ES.lock`, `canonical_ES.fence`), the kernel's flock table as the authority on
/// who holds them (docs/robot-worker.md, "The market lock").
///
/// Its scope is its folder: the account is not part of the file names, so one folder serves one
/// account. `HostMarketGuard` adds the host-wide scope on top of it.
public struct FlockMarketGuard: MarketGuard {
    /// The lock folder (`paths.lock_dir`).
    public let folder: String

    public init(folder: String) { self.folder = folder }

    /// The lock file of `market` (`canonical_ES.lock`).
    public func lockFile(_ market: CanonicalMarket) -> String { folder + "/canonical_\(market.name).lock" }
    /// The fence file of `market`, next to its lock.
    public func fenceFile(_ market: CanonicalMarket) -> String { folder + "/canonical_\(market.name).fence" }

    public func place(of market: CanonicalMarket) -> String { lockFile(market) }

    public func acquire(_ market: CanonicalMarket, runID: String, host: String) throws(MarketGuardFailure) -> MarketGuardOutcome {
        try MarketLock.acquire(market: market, lockPath: lockFile(market), fencePath: fenceFile(market), runID: runID, host: host)
    }

    public func acquire(account: TradingAccount, _ market: CanonicalMarket, runID: String, host: String) throws(MarketGuardFailure)
        -> MarketGuardOutcome
    {
        try acquire(market, runID: runID, host: host)
    }

    public func holds(pid: Int32, account: TradingAccount, market: CanonicalMarket) -> Bool { holds(pid: pid, market: market) }

    public func currentHolder(account: TradingAccount, of market: CanonicalMarket) -> MarketHolder? { currentHolder(of: market) }

    /// True when the kernel says `pid` holds an flock on `market`'s lock file, or on the lock-file
    /// inode its fence file records (a lock file deleted or replaced under its live holder).
    public func holds(pid: Int32, market: CanonicalMarket) -> Bool {
        Self.holds(pid: pid, lockPath: lockFile(market), fencePath: fenceFile(market))
    }

    public func currentHolder(of market: CanonicalMarket) -> MarketHolder? {
        let lockPath = lockFile(market)
        let fencePath = fenceFile(market)
        let pids = Self.lockInodes(lockPath: lockPath, fencePath: fencePath).flatMap {
            FlockTable.holders(device: $0.device, inode: $0.inode)
        }
        guard !pids.isEmpty else { return nil }
        if case .record(let r) = LockRecord.parse((try? FileIO.readFile(lockPath)) ?? []), pids.contains(r.pid) {
            return MarketHolder(record: r, kernelPIDs: pids, detail: "the lock record names pid \(r.pid), which holds the lock")
        }
        if let bytes = try? FileIO.readFile(fencePath), let f = FenceFile.parse(bytes), pids.contains(f.pid) {
            let r = LockRecord(runID: f.runID, acquiredAtUTC: "", canonical: market.name, pid: f.pid, host: f.host, fence: f.fence)
            return MarketHolder(record: r, kernelPIDs: pids, detail: "the fence file names pid \(f.pid), which holds the lock")
        }
        return MarketHolder(
            record: nil, kernelPIDs: pids,
            detail: "the lock record could not be confirmed (pid \(pids.map(String.init).joined(separator: ",")) holds the lock)")
    }

    /// `holds(pid:market:)` over explicit paths (the one implementation both use).
    static func holds(pid: Int32, lockPath: String, fencePath: String) -> Bool {
        lockInodes(lockPath: lockPath, fencePath: fencePath).contains {
            FlockTable.holders(device: $0.device, inode: $0.inode).contains(pid)
        }
    }

    /// The inodes a holder of the market may hold its flock on: the lock file's now, and the one
    /// the fence file records (the holder's, if the lock file was replaced since).
    static func lockInodes(lockPath: String, fencePath: String) -> [(device: UInt64, inode: UInt64)] {
        var inodes: [(device: UInt64, inode: UInt64)] = []
        var st = stat()
        if stat(lockPath, &st) == 0 { inodes.append((UInt64(st.st_dev), UInt64(st.st_ino))) }
        if let bytes = try? FileIO.readFile(fencePath, limit: 65536), let f = FenceFile.parse(bytes),
            !inodes.contains(where: { $0.device == f.lockDevice && $0.inode == f.lockInode })
        {
            inodes.append((f.lockDevice, f.lockInode))
        }
        return inodes
    }
}
