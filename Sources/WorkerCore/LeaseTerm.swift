import PostgresGuard

/// The worker's side of the lease across hosts (docs/MULTIHOST.md), pure: it takes the replies of
/// the database and the monotonic time, and answers with what to send and what to do. No
/// database, no threads: the worker's `LeaseKeeper` carries out its actions.
///
/// The rule that keeps two hosts from trading at once: the holder's own deadline runs on its
/// monotonic clock from the moment it SENT the last renewal the database confirmed, and is
/// `margin` shorter than the lease. The database computes the expiry as its `now()` at the
/// statement plus the lease, and that `now()` is later than the send, so the holder's deadline
/// comes before any other host can be granted the lease, whatever the network delays. A
/// confirmation that arrives after its own deadline (a holder stopped by SIGSTOP, a reply stuck
/// in a stalled network) extends nothing. At the deadline the worker stops trading at once
/// (`stopTrading`), and asks again: a new acquisition, with a new fence, never the old one.
public struct LeaseTerm: Sendable {
    public struct Settings: Sendable, Equatable {
        public var leaseNanos: Int64
        /// Renewals every third of the lease.
        public var renewEveryNanos: Int64
        /// The deadline is this much shorter than the lease: a tenth of it (300 ms at 3 s).
        public var marginNanos: Int64
        /// A standby asks again at least this often (a third of the lease), and at the expiry it was told.
        public var pollEveryNanos: Int64
        /// A request with no reply after this long is forgotten (the client times it out sooner).
        public var forgetAfterNanos: Int64

        public init(leaseSeconds: Double, requestTimeoutSeconds: Double) {
            leaseNanos = Int64(leaseSeconds * 1e9)
            renewEveryNanos = leaseNanos / 3
            marginNanos = leaseNanos / 10
            pollEveryNanos = leaseNanos / 3
            forgetAfterNanos = Int64((requestTimeoutSeconds + 1) * 1e9)
        }
    }

    public enum Role: Sendable, Equatable {
        /// No answer yet.
        case starting
        /// Another run holds the lease (nil: not known yet).
        case standby(LeaseHolder?)
        /// This run holds the lease with `fence` until `deadline` (monotonic nanoseconds).
        case holding(fence: Int64, deadline: Int64)
        /// The deadline passed, or the database said the lease is no longer ours: asking again.
        case lost(fence: Int64, reason: String)

        public var word: String {
            switch self {
            case .starting: return "STARTING"
            case .standby: return "STANDBY"
            case .holding: return "HOLDER"
            case .lost: return "LEASE_LOST"
            }
        }
    }

    public enum Action: Sendable, Equatable {
        case send(LeaseRequest, id: UInt64)
        /// The lease is this run's with `fence` (above every fence before): raise to it, rerun
        /// the startup checks, trade.
        case hold(fence: Int64)
        /// Stop trading at once (OBSERVE_ONLY, `LEASE_LOST`, open orders cancelled).
        case stopTrading(reason: String)
        /// Another run holds the lease, or it changed hands: report STANDBY and who holds it.
        case standby(LeaseHolder?)
        /// A renewal was confirmed `latencyNanos` after it was sent.
        case renewed(latencyNanos: Int64)
        /// The database could not be reached or refused (first failure after a success), or answers again.
        case databaseUnreachable(String)
        case databaseReachable
    }

    public let settings: Settings
    public private(set) var role: Role = .starting
    /// The standbys the database counts (other runs that asked within two lease periods).
    public private(set) var standbys = 0
    /// Seconds of the lease left by the database's clock at the last confirmation.
    public private(set) var remainingSeconds: Double?
    /// nil until the first answer; false while requests fail.
    public private(set) var databaseReachable: Bool?
    public private(set) var lastFailure: String?
    /// Renewals that failed or were refused since start.
    public private(set) var renewFailures = 0
    /// Acquisitions after which this run held the lease.
    public private(set) var acquisitions = 0
    /// The fence every acquisition must exceed besides the row's: the worker's own (its lock
    /// folder's, journal's and watchdog's memory), so the fence never goes back on this host either.
    public var fenceFloor: Int64 = 0
    private var inFlight: (id: UInt64, request: LeaseRequest, sentAt: Int64)?
    /// A release was NOTIFYed while a request was in flight (see `reply`).
    private var releaseNoticed = false
    private var nextID: UInt64 = 1
    private var nextAttemptAt: Int64
    private var lastHolder: LeaseHolder?

    public init(settings: Settings, now: Int64) {
        self.settings = settings
        nextAttemptAt = now
    }

    /// True while this run holds the lease and its deadline has not passed: checked before every order.
    public func mayTrade(now: Int64) -> Bool {
        if case .holding(_, let deadline) = role { return now < deadline }
        return false
    }

    /// When the keeper must call `tick` next (monotonic nanoseconds).
    public var nextWake: Int64 {
        var wake = inFlight.map { $0.sentAt + settings.forgetAfterNanos } ?? nextAttemptAt
        if case .holding(_, let deadline) = role { wake = min(wake, deadline) }
        return wake
    }

    /// The time went by: the deadline, a forgotten request, the next request.
    public mutating func tick(now: Int64) -> [Action] {
        var actions = expire(now: now)
        if let f = inFlight, now - f.sentAt >= settings.forgetAfterNanos {
            inFlight = nil
            actions += failed(
                "no reply within \(Double(settings.forgetAfterNanos) / 1e9) s", now: now, request: f.request, sentAt: f.sentAt)
        }
        if inFlight == nil, now >= nextAttemptAt {
            let request: LeaseRequest
            if case .holding(let fence, _) = role { request = .renew(fence: fence) } else { request = .acquire(floor: fenceFloor) }
            let id = nextID
            nextID += 1
            inFlight = (id, request, now)
            actions.append(.send(request, id: id))
        }
        return actions
    }

    /// A reply of the database (or news from it) that arrived at `now`.
    public mutating func reply(_ reply: LeaseReply, now: Int64) -> [Action] {
        var actions = expire(now: now)
        switch reply {
        case .releasedByHolder, .listening:
            if !isHolding {
                nextAttemptAt = now
                // An acquire already in flight may have been answered before the release: ask again
                // as soon as it is answered, not at the next poll.
                releaseNoticed = inFlight != nil
            }
            return actions + tick(now: now)
        default: break
        }
        guard let f = inFlight, f.id == reply.id else { return actions }
        inFlight = nil
        defer { releaseNoticed = false }
        if databaseReachable != true, !reply.isFailure {
            databaseReachable = true
            lastFailure = nil
            actions.append(.databaseReachable)
        }
        switch reply {
        case .acquired(_, let fence, let remaining):
            let deadline = f.sentAt + settings.leaseNanos - settings.marginNanos
            remainingSeconds = remaining
            if now >= deadline {
                // Confirmed too late to trade on: ask again (this run may take it again, with a new fence).
                nextAttemptAt = now
            } else {
                role = .holding(fence: fence, deadline: deadline)
                acquisitions += 1
                fenceFloor = max(fenceFloor, fence)
                nextAttemptAt = f.sentAt + settings.renewEveryNanos
                actions.append(.hold(fence: fence))
            }
        case .held(_, let holder):
            let wasStandby: Bool
            if case .standby = role { wasStandby = true } else { wasStandby = false }
            role = .standby(holder)
            standbys = holder?.standbys ?? standbys
            remainingSeconds = holder?.remainingSeconds
            // Ask again right after the expiry the database named, and at least every third of a lease.
            var wait = settings.pollEveryNanos
            if let remaining = holder?.remainingSeconds {
                wait = min(wait, max(Int64(remaining * 1e9) + 5_000_000, 5_000_000))
            } else {
                wait = min(wait, 50_000_000)
            }
            nextAttemptAt = releaseNoticed ? now : now + wait
            if !wasStandby || holder?.runID != lastHolder?.runID || holder?.fence != lastHolder?.fence { actions.append(.standby(holder)) }
            lastHolder = holder
        case .renewed(_, let remaining, let count):
            standbys = count
            remainingSeconds = remaining
            if case .holding(let fence, let deadline) = role {
                role = .holding(fence: fence, deadline: max(deadline, f.sentAt + settings.leaseNanos - settings.marginNanos))
                actions.append(.renewed(latencyNanos: now - f.sentAt))
            }
            nextAttemptAt = max(f.sentAt + settings.renewEveryNanos, now)
        case .notRenewed:
            renewFailures += 1
            if case .holding(let fence, _) = role {
                let reason = "the database says the lease of fence \(fence) is no longer this run's"
                role = .lost(fence: fence, reason: reason)
                actions.append(.stopTrading(reason: reason))
            }
            nextAttemptAt = now
        case .failed(_, let failure):
            actions += failed(failure.description, now: now, request: f.request, sentAt: f.sentAt)
        case .released, .releasedByHolder, .listening:
            break
        }
        return actions + tick(now: now)
    }

    /// The worker cannot trade on the fence it was granted (its own rose above it meanwhile):
    /// treated as lost, asked again above `floor`.
    public mutating func abandon(now: Int64, floor: Int64) -> [Action] {
        fenceFloor = max(fenceFloor, floor)
        if case .holding(let fence, _) = role { role = .lost(fence: fence, reason: "fence \(fence) is not above this run's \(floor)") }
        nextAttemptAt = now
        return tick(now: now)
    }

    public var isHolding: Bool {
        if case .holding = role { return true }
        return false
    }

    /// The deadline passed without a confirmed renewal: stop trading now.
    private mutating func expire(now: Int64) -> [Action] {
        guard case .holding(let fence, let deadline) = role, now >= deadline else { return [] }
        let reason =
            "no renewal of the lease (fence \(fence)) confirmed within \(Double(settings.leaseNanos - settings.marginNanos) / 1e9) s of sending it"
        role = .lost(fence: fence, reason: reason)
        nextAttemptAt = now
        return [.stopTrading(reason: reason)]
    }

    private mutating func failed(_ why: String, now: Int64, request: LeaseRequest, sentAt: Int64) -> [Action] {
        var actions: [Action] = []
        if case .renew = request { renewFailures += 1 }
        if databaseReachable != false { actions.append(.databaseUnreachable(why)) }
        databaseReachable = false
        lastFailure = why
        if case .holding = role {
            nextAttemptAt = max(sentAt + settings.renewEveryNanos, now + settings.renewEveryNanos / 4)
        } else {
            nextAttemptAt = now + settings.pollEveryNanos
        }
        return actions
    }
}

extension LeaseReply {
    /// The request this answers; 0 for news.
    var id: UInt64 {
        switch self {
        case .acquired(let id, _, _), .held(let id, _), .renewed(let id, _, _), .notRenewed(let id), .released(let id), .failed(let id, _):
            return id
        case .releasedByHolder, .listening: return 0
        }
    }

    var isFailure: Bool {
        if case .failed = self { return true }
        return false
    }
}
