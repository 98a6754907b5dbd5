import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The guard a worker runs under: one executor per (account, canonical market) on the host.
///
/// Two `flock(2)` locks, both released by the kernel when the holder dies:
/// - the host-wide lock `<guard folder>/<account>/canonical_M.lock` (`HostGuardFolder`), taken
///   first: every home folder, configuration file and user of the host meets it, so a second
///   worker for the same account and market is refused whatever its home;
/// - the home's lock `<lock_dir>/canonical_M.lock` (`FlockMarketGuard`), which the watchdog's
///   hello admission and the operators' tools of that home read.
///
/// The fence is the higher of the two, plus one, and written back to both, so fences (and the
/// client order IDs built from them) never repeat for an account and market on the host, across
/// home folders and reboots: the host-wide fence file lives under `/var/lib`.
public struct HostMarketGuard: MarketGuard {
    /// The home's lock folder (`paths.lock_dir`).
    public let home: FlockMarketGuard
    /// The host-wide guard folder (`HostGuardFolder`).
    public let hostFolder: String
    /// The home folder, written in the host-wide record so a refused worker can name it.
    public let homeName: String

    public init(lockFolder: String, hostFolder: String, homeName: String) {
        home = FlockMarketGuard(folder: lockFolder)
        self.hostFolder = hostFolder
        self.homeName = homeName
    }

    /// The host-wide locks of `account` (no folder is created).
    public func hostLocks(_ account: TradingAccount) -> FlockMarketGuard { FlockMarketGuard(folder: hostFolder + "/" + account.name) }

    public func place(of market: CanonicalMarket) -> String { home.lockFile(market) }

    public func acquire(account: TradingAccount, _ market: CanonicalMarket, runID: String, host: String) throws(MarketGuardFailure)
        -> MarketGuardOutcome
    {
        let hostLocks = self.hostLocks(account)
        do throws(MarketGuardFailure) {
            _ = try HostGuardFolder.prepare(hostFolder, account: account)
            try HostGuardFolder.checkFile(hostLocks.lockFile(market))
            try HostGuardFolder.checkFile(hostLocks.fenceFile(market))
        } catch {
            // Another user's folder or files that a live process holds: that holder is named and
            // the answer is "already active" (exit 100), as for the same user. Nobody holds them:
            // the folder is refused as unsafe.
            if case .untrusted = error, let holder = hostLocks.currentHolder(of: market) {
                return .alreadyActive(hostWide(holder, account: account, market: market, lockFile: hostLocks.lockFile(market)))
            }
            throw error
        }
        let hostOutcome = try MarketLock.acquire(
            market: market, lockPath: hostLocks.lockFile(market), fencePath: hostLocks.fenceFile(market), runID: runID, host: host,
            home: homeName)
        let hostLock: MarketLock
        let hostPrevious: PreviousHolder?
        switch hostOutcome {
        case .alreadyActive(let holder):
            return .alreadyActive(hostWide(holder, account: account, market: market, lockFile: hostLocks.lockFile(market)))
        case .acquired(let held, let previous):
            guard let lock = held as? MarketLock else { preconditionFailure("MarketLock.acquire holds a MarketLock") }
            hostLock = lock
            hostPrevious = previous
        }
        let homeOutcome: MarketGuardOutcome
        do {
            homeOutcome = try MarketLock.acquire(
                market: market, lockPath: home.lockFile(market), fencePath: home.fenceFile(market), runID: runID, host: host,
                fenceFloor: hostLock.record.fence - 1)
        } catch {
            try? hostLock.release()
            throw error
        }
        switch homeOutcome {
        case .alreadyActive(let holder):
            try? hostLock.release()
            return .alreadyActive(holder)
        case .acquired(let held, let previous):
            guard let homeLock = held as? MarketLock else { preconditionFailure("MarketLock.acquire holds a MarketLock") }
            do throws(SystemError) { try hostLock.raiseFence(to: homeLock.record.fence) } catch {
                try? homeLock.release()
                try? hostLock.release()
                throw .cannotUse(path: hostLock.fencePath, error)
            }
            return .acquired(HostScopedLock(home: homeLock, host: hostLock), previous: previous ?? hostPrevious)
        }
    }

    /// Held only when the kernel says `pid` holds both the host-wide lock and the home's lock.
    public func holds(pid: Int32, account: TradingAccount, market: CanonicalMarket) -> Bool {
        home.holds(pid: pid, market: market) && hostLocks(account).holds(pid: pid, market: market)
    }

    /// The host-wide holder when there is one, else the home's.
    public func currentHolder(account: TradingAccount, of market: CanonicalMarket) -> MarketHolder? {
        let locks = hostLocks(account)
        if let holder = locks.currentHolder(of: market) {
            var record = holder.record
            if let r = record, case .record(let full) = LockRecord.parse((try? FileIO.readFile(locks.lockFile(market))) ?? []),
                full.pid == r.pid
            {
                record = full
            }
            return hostWide(
                MarketHolder(record: record, kernelPIDs: holder.kernelPIDs, detail: holder.detail), account: account, market: market,
                lockFile: locks.lockFile(market))
        }
        return home.currentHolder(of: market)
    }

    /// A host-wide holder, described with its account, home and lock file.
    func hostWide(_ holder: MarketHolder, account: TradingAccount, market: CanonicalMarket, lockFile: String) -> MarketHolder {
        let pid = holder.record?.pid ?? holder.kernelPIDs.first
        let home = holder.record?.home ?? pid.flatMap(Self.kernelHome) ?? "unknown"
        var described = holder
        described.detail =
            "account \(account.name), market \(market.name) is held host-wide (\(lockFile)) by pid "
            + (pid.map(String.init) ?? "unknown") + " with home \(home); " + holder.detail
        if described.record != nil, described.record?.home == nil { described.record?.home = home == "unknown" ? nil : home }
        return described
    }

    /// What the kernel says about a process's home when the record does not: its working folder
    /// (`/proc/PID/cwd`; readable for this user's processes, or by root).
    static func kernelHome(_ pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/cwd", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (its working folder)"
    }
}
