import Platform
import Wire

/// The single-executor guard of a canonical market for one trading account, whatever holds it:
/// today `flock(2)` locks (`HostMarketGuard`: the home's lock folder and the host-wide guard
/// folder; `FlockMarketGuard`: one lock folder); a lease in a database can slot in beside them
/// without changing the worker's start-up, which sees only this protocol.
///
/// The methods are keyed by account and market: the guarantee is one executor per (account,
/// canonical market). A backend whose scope is narrower says so (`FlockMarketGuard` is one folder's).
public protocol MarketGuard: Sendable {
    /// Tries once to take `market`'s guard for `account`, for the run `runID` on `host`.
    func acquire(account: TradingAccount, _ market: CanonicalMarket, runID: String, host: String) throws(MarketGuardFailure)
        -> MarketGuardOutcome

    /// Who holds `account`'s guard of `market` now, as far as the backend's authority (the kernel,
    /// a database) confirms it; nil when nobody holds it.
    func currentHolder(account: TradingAccount, of market: CanonicalMarket) -> MarketHolder?

    /// Whether the backend's authority says `pid` holds `account`'s guard of `market` now.
    func holds(pid: Int32, account: TradingAccount, market: CanonicalMarket) -> Bool

    /// Where `market`'s guard lives, for messages and events (`lock_file`): a lock file's path.
    func place(of market: CanonicalMarket) -> String
}

/// A market guard this process holds, until `release()` or its exit.
public protocol HeldMarketGuard: AnyObject {
    var market: CanonicalMarket { get }
    /// Where the guard lives (`MarketGuard.place(of:)`).
    var path: String { get }
    /// This holder's record: run, acquisition time, pid, host and fence.
    var record: LockRecord { get }
    /// Raises this holder's fence to `fence` (never down), durably, while the guard is held.
    func raiseFence(to fence: Int64) throws(SystemError)
    /// Gives the guard up cleanly: the next holder sees "released", not a crash.
    func release() throws(SystemError)
}

extension HeldMarketGuard {
    /// The fence of this acquisition: higher than every fence handed out before for the market.
    public var fence: Int64 { record.fence }
}
