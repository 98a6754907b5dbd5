/// What the worker asks of the lease (`PostgresLeaseClient.submit`), each with its number so the
/// reply can be matched to the moment it was sent.
public enum LeaseRequest: Sendable, Equatable {
    /// Take the lease if it is free, expired, or already this run's: a new fence, above `floor`.
    case acquire(floor: Int64)
    /// Extend the lease held with `fence` (only while the database says it has not expired).
    case renew(fence: Int64)
    /// Give up the lease held with `fence` and NOTIFY the standbys.
    case release(fence: Int64)
}

/// The holder of a lease, as its row names it.
public struct LeaseHolder: Sendable, Equatable {
    public var host: String
    public var runID: String
    public var pid: Int32
    public var fence: Int64
    /// Seconds until the row expires, by the database's clock, when it was read (negative: expired).
    public var remainingSeconds: Double
    /// Workers of other runs that asked for the lease within the last lease period (standbys).
    public var standbys: Int

    public init(host: String, runID: String, pid: Int32, fence: Int64, remainingSeconds: Double, standbys: Int) {
        (self.host, self.runID, self.pid, self.fence, self.remainingSeconds, self.standbys) = (
            host, runID, pid, fence, remainingSeconds, standbys
        )
    }
}

/// Why the database could not answer.
public enum LeaseFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not reachable, timed out, or the connection broke: it may come back.
    case unreachable(String)
    /// Refused for good until an operator acts: authentication failed, the database does not
    /// exist, or its schema is newer than this program's.
    case refused(String)

    public var description: String {
        switch self {
        case .unreachable(let s): return s
        case .refused(let s): return s
        }
    }
}

/// The answer to one `LeaseRequest`, or news from the database.
public enum LeaseReply: Sendable, Equatable {
    /// `acquire`: the lease is this run's, with `fence`.
    case acquired(id: UInt64, fence: Int64, remainingSeconds: Double)
    /// `acquire`: another run holds it (nil holder: the row could not be read consistently; ask again).
    case held(id: UInt64, LeaseHolder?)
    /// `renew`: extended; `standbys` other runs waiting.
    case renewed(id: UInt64, remainingSeconds: Double, standbys: Int)
    /// `renew`: the row no longer names this run and fence, or it had expired.
    case notRenewed(id: UInt64)
    /// `release`: done (or nothing to release).
    case released(id: UInt64)
    /// Any request: no answer.
    case failed(id: UInt64, LeaseFailure)
    /// A NOTIFY: the lease of this market was released.
    case releasedByHolder
    /// The LISTEN connection was (re)established: a release may have been missed meanwhile.
    case listening
}
