import Platform
import Wire

/// The single-executor guard of a canonical market, whatever holds it: today an `flock(2)` on a
/// lock file (`FlockMarketGuard`); a lease in a database can slot in beside it without changing the
/// worker's start-up, which sees only this protocol.
///
/// The methods are keyed by market alone. When guards are held per account as well (a later issue),
/// the account becomes a parameter before the market (`holds(pid:account:market:)`).
public protocol MarketGuard: Sendable {
    /// Tries once to take `market`'s guard for the run `runID` on `host`.
    func acquire(_ market: CanonicalMarket, runID: String, host: String) throws(MarketGuardFailure) -> MarketGuardOutcome

    /// Who holds `market`'s guard now, as far as the backend's authority (the kernel, a database)
    /// confirms it; nil when nobody holds it.
    func currentHolder(of market: CanonicalMarket) -> MarketHolder?

    /// Whether the backend's authority says `pid` holds `market`'s guard now.
    func holds(pid: Int32, market: CanonicalMarket) -> Bool

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
