import Platform
import Wire

/// The two locks `HostMarketGuard` holds for a worker: the host-wide one and its home's. The
/// record (and the fence) is the home lock's, which is never below the host-wide one.
public final class HostScopedLock: HeldMarketGuard {
    public let home: MarketLock
    public let host: MarketLock

    init(home: MarketLock, host: MarketLock) {
        self.home = home
        self.host = host
    }

    public var market: CanonicalMarket { home.market }
    public var path: String { home.path }
    public var record: LockRecord { home.record }

    /// Raises the host-wide fence first, then the home's: the host-wide fence file, which every
    /// home's next acquisition reads, is never below a fence this worker trades on.
    public func raiseFence(to fence: Int64) throws(SystemError) {
        try host.raiseFence(to: fence)
        try home.raiseFence(to: fence)
    }

    /// Releases the home's lock, then the host-wide one (both cleanly: the next holder sees "released").
    public func release() throws(SystemError) {
        var first: SystemError?
        do { try home.release() } catch { first = error }
        try host.release()
        if let first { throw first }
    }
}
