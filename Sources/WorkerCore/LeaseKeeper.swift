import Guard
import Logging
import Observability
import Platform
import PostgresGuard
import RobotConfig
import Wire

/// The running worker's side of the lease across hosts (docs/MULTIHOST.md): carries out what
/// `LeaseTerm` decides, on the worker's reactor thread. The database client runs on its own
/// thread (`PostgresLeaseClient`); its replies come back through a `ReactorInbox`, so the loop
/// never waits for the database.
///
/// - The lease held: the fence is raised to the lease's (the lock folder's fence file, the
///   record, the event log: every event and client order ID after it), `LEASE_STATUS` HOLDER is
///   journaled, the startup checks run again and settle the mode.
/// - The deadline passed, or the database says the lease is gone: OBSERVE_ONLY at once
///   (`LEASE_LOST`), open orders cancelled; then a new acquisition.
/// - Another run holds it: STANDBY (OBSERVE_ONLY), and who holds it, in `STATUS=` and the journal.
/// The deadline is also checked before every order (`Engine.beforeOrder`), not only on the timer.
final class LeaseKeeper {
    private let client: PostgresLeaseClient
    private let reactor: Reactor
    private var term: LeaseTerm
    private var inbox: ReactorInbox<LeaseReply>?
    private var timer: Reactor.TimerID?
    private let engine: Engine
    private let log: EventLog
    private let lock: any HeldMarketGuard
    private let metrics: LeaseMetrics
    private let note: (String, String, Logger.Level) -> Void
    /// The startup checks over the records as they are now (run again at every acquisition).
    private let rerunChecks: () -> [StartupChecks.Result]
    /// Called after the role or the database's state changed (the worker sends `STATUS=`).
    var onChange: (() -> Void)?
    /// Called after the fence was raised to the lease's: the watchdog takes events of a fence only
    /// on a connection whose hello named it, so the worker says hello again (`WatchdogLink.reconnect`).
    var onFenceRaised: (() -> Void)?
    private var standbySince: Int64?
    private var countedRenewFailures = 0
    private var stopped = false

    init(
        client: PostgresLeaseClient, unreachableAtStart: String?, reactor: Reactor, engine: Engine, log: EventLog,
        lock: any HeldMarketGuard, metrics: LeaseMetrics, note: @escaping (String, String, Logger.Level) -> Void,
        rerunChecks: @escaping () -> [StartupChecks.Result]
    ) {
        self.client = client
        self.reactor = reactor
        self.engine = engine
        self.log = log
        self.lock = lock
        self.metrics = metrics
        self.note = note
        self.rerunChecks = rerunChecks
        let now = MonotonicClock.nowNanos()
        term = LeaseTerm(
            settings: LeaseTerm.Settings(leaseSeconds: client.leaseSeconds, requestTimeoutSeconds: client.requestTimeoutSeconds), now: now)
        term.fenceFloor = log.fence
        metrics.role(term.role.word)
        metrics.database(up: unreachableAtStart == nil)
        let why = unreachableAtStart.map { "DATABASE_UNREACHABLE: \($0)" } ?? "the lease is not held yet"
        engine.holdForLease("STANDBY: \(why)", cancelOrders: false)
        engine.beforeOrder = { [unowned self] in self.check() }
        if let unreachableAtStart {
            note(
                "\(log.market): the lease database does not answer at start (\(unreachableAtStart)); running as a STANDBY until it does",
                "DATABASE_UNREACHABLE", .error)
        }
    }

    /// Starts asking for the lease (from the loop, once the worker runs).
    func start() {
        do {
            let inbox = try ReactorInbox<LeaseReply>(reactor: reactor) { [unowned self] reply in self.handle(reply) }
            self.inbox = inbox
            client.deliver(to: { [weak inbox] reply in inbox?.post(reply) })
        } catch {
            note(
                "\(log.market): cannot wire the lease client to the loop: \(error); the lease is never taken", "LEASE_CLIENT_FAILED",
                .critical)
            return
        }
        act(term.tick(now: MonotonicClock.nowNanos()))
    }

    /// Before an order: the deadline on the monotonic clock, now.
    func check() {
        guard !stopped else { return }
        act(term.tick(now: MonotonicClock.nowNanos()))
    }

    /// At stop, the first thing the worker does: gives the lease up at once (NOTIFY to the
    /// standbys) when held, then closes the client. Trading stops before the release is sent:
    /// OBSERVE_ONLY is journaled and synced with every line before it (the last order included),
    /// and from then on the engine places nothing (the lease's hold keeps it OBSERVE_ONLY), so no
    /// order of this run can follow the release. `LEASE_STATUS` RELEASED carries the monotonic
    /// time the release was sent (`release_sent_monotonic_ns`).
    func release() {
        stopped = true
        if let timer { reactor.cancel(timer) }
        if case .holding(let fence, _) = term.role {
            engine.holdForLease("STOPPING: the lease is being released", cancelOrders: false, persist: false)
            engine.commitJournal()
            let sentAt = MonotonicClock.nowNanos()
            let ok = client.releaseAndWait(fence: fence, seconds: 0.5)
            var d = data(state: "RELEASED", reason: ok ? "released at stop" : "release not confirmed; it expires by itself")
            d["release_sent_monotonic_ns"] = .int(sentAt)
            log.emit(.leaseStatus, d)
        }
        client.shutdown()
    }

    /// `STATUS=` words: HOLDER, or STANDBY and who holds the market, or LEASE_LOST; and the database.
    var statusText: String {
        var text: String
        switch term.role {
        case .starting: text = "STANDBY (lease not held yet)"
        case .standby(let h?):
            text = "STANDBY, lease held by \(h.host) (pid \(h.pid), fence \(h.fence))"
        case .standby(nil): text = "STANDBY, lease holder unknown"
        case .holding(let fence, _): text = "lease held, fence \(fence)"
        case .lost(_, let reason): text = "LEASE_LOST: \(reason)"
        }
        if term.databaseReachable == false || (term.databaseReachable == nil && term.lastFailure != nil) {
            text += ", DATABASE_UNREACHABLE"
        }
        return text
    }

    /// For the heartbeat: the lease as this worker sees it (`watchdog status` shows it).
    /// This run holds the lease now (not STANDBY, not LEASE_LOST).
    var holds: Bool { term.isHolding }

    var summary: JSONObject { data(state: term.role.word, reason: nil) }

    // MARK: carrying out

    private func handle(_ reply: LeaseReply) {
        guard !stopped else { return }
        act(term.reply(reply, now: MonotonicClock.nowNanos()))
    }

    private func act(_ actions: [LeaseTerm.Action]) {
        var changed = false
        let now = MonotonicClock.nowNanos()
        // A batch that journals a new role carries the database's state in that event.
        let journalsRole = actions.contains {
            switch $0 {
            case .hold, .standby, .stopTrading: return true
            default: return false
            }
        }
        for action in actions {
            switch action {
            case .send(let request, let id):
                client.submit(request, id: id)
            case .hold(let fence):
                hold(fence)
                changed = true
            case .stopTrading(let reason):
                engine.holdForLease("LEASE_LOST: \(reason)", cancelOrders: true)
                log.emit(.leaseStatus, data(state: "LEASE_LOST", reason: reason))
                note("\(log.market): LEASE_LOST: \(reason); trading stopped, open orders cancelled", "LEASE_LOST", .critical)
                changed = true
            case .standby(let holder):
                let who = holder.map { "\($0.host) (run \($0.runID), pid \($0.pid), fence \($0.fence))" } ?? "an unknown holder"
                engine.holdForLease("STANDBY: the lease is held by \(who)", cancelOrders: true)
                log.emit(.leaseStatus, data(state: "STANDBY", reason: "held by \(who)"))
                note("\(log.market): STANDBY: the lease is held by \(who)", "LEASE_STANDBY", .notice)
                changed = true
            case .renewed(let latency):
                metrics.renewed(nanos: latency)
            case .databaseUnreachable(let why):
                metrics.database(up: false)
                log.emit(.leaseStatus, data(state: term.role.word, reason: "DATABASE_UNREACHABLE: \(why)"))
                note("\(log.market): the lease database does not answer: \(why)", "DATABASE_UNREACHABLE", .error)
                changed = true
            case .databaseReachable:
                metrics.database(up: true)
                if !journalsRole { log.emit(.leaseStatus, data(state: term.role.word, reason: "the database answers")) }
                note("\(log.market): the lease database answers again", "DATABASE_REACHABLE", .notice)
                changed = true
            }
        }
        account(now: now)
        schedule()
        if changed { onChange?() }
    }

    /// The lease is ours with `fence`: raise to it, journal, rerun the startup checks.
    private func hold(_ fence: Int64) {
        let from = log.fence
        guard fence > from else {
            // Our own fence rose meanwhile (the watchdog's high-water mark): never trade on a used fence.
            note("\(log.market): the lease's fence \(fence) is not above this run's \(from); asking again", "LEASE_FENCE_BELOW", .warning)
            act(term.abandon(now: MonotonicClock.nowNanos(), floor: from))
            return
        }
        do {
            try GateKeeper.raise(lock: lock, log: log, to: fence)
        } catch {
            note(
                "\(log.market): the lease gave fence \(fence) but the lock folder's fence file cannot be raised to it: \(error); not trading",
                "LEASE_FENCE_UNRECORDED", .critical)
            return
        }
        // The snapshot with the new fence is written by the startup checks' settlement, in this
        // handler, before any order: one write less between the grant and trading.
        engine.raiseFence(to: log.fence, persist: false)
        onFenceRaised?()
        metrics.acquired()
        engine.leaseGranted(checks: rerunChecks())
        log.emit(.leaseStatus, data(state: "HOLDER", reason: "acquired, fence \(from) -> \(fence)"))
        note("\(log.market): lease acquired, fence \(fence); startup checks run again", "LEASE_ACQUIRED", .notice)
    }

    private func account(now: Int64) {
        metrics.role(term.role.word)
        metrics.standbys(term.standbys)
        while countedRenewFailures < term.renewFailures {
            countedRenewFailures += 1
            metrics.renewFailed()
        }
        let inStandby: Bool
        switch term.role {
        case .standby, .starting: inStandby = true
        default: inStandby = false
        }
        if let since = standbySince { metrics.inStandby(seconds: Double(now - since) / 1e9) }
        standbySince = inStandby ? now : nil
    }

    private func schedule() {
        guard !stopped else { return }
        if let timer { reactor.cancel(timer) }
        let wait = max(0, term.nextWake - MonotonicClock.nowNanos())
        timer = reactor.schedule(afterNanos: wait) { [unowned self] in
            self.timer = nil
            self.check()
        }
    }

    private func data(state: String, reason: String?) -> JSONObject {
        var d: JSONObject = [
            "backend": "postgresql", "state": .string(state), "host": .string(client.identity.host),
            "database": .string(client.database.address), "standbys": .int(Int64(term.standbys)),
            "database_reachable": term.databaseReachable.map { .bool($0) } ?? .null,
        ]
        if let remaining = term.remainingSeconds {
            d["lease_expires_at_utc"] = .string(UTCTimestamp.format(micros: UTCTimestamp.nowMicros() + Int64(remaining * 1e6)))
        }
        switch term.role {
        case .holding(let fence, _):
            d["holder_host"] = .string(client.identity.host)
            d["holder_run_id"] = .string(client.identity.runID)
            d["holder_fence"] = .int(fence)
        case .standby(let h?):
            d["holder_host"] = .string(h.host)
            d["holder_run_id"] = .string(h.runID)
            d["holder_pid"] = .int(Int64(h.pid))
            d["holder_fence"] = .int(h.fence)
        default: break
        }
        if let reason { d["reason"] = .string(reason) }
        if let failure = term.lastFailure, term.databaseReachable == false { d["database_error"] = .string(failure) }
        return d
    }
}

extension WorkerStartup {
    /// The startup checks over the journal and snapshot as they are now, and the feed: what a
    /// worker runs again each time it is granted the lease.
    ///
    /// The journal's integrity is read from `keeper` when it can vouch for the file: the file it
    /// follows, exactly as long as the lines this run appended and checked as it wrote them
    /// (`VerifiedPrefixKeeper.integrity`); only when it cannot (another process appended, the
    /// keeper stopped following) is the whole file read and checked again. The snapshot (which
    /// this run wrote) and the feed are checked again every time: both are cheap.
    static func rerunChecks(journal: Journal, keeper: VerifiedPrefixKeeper?, snapshotPath: String, feed: FeedSpec) -> [StartupChecks.Result]
    {
        let snapshot: [UInt8]? = (try? FileIO.readFile(snapshotPath)) ?? nil
        if let integrity = keeper?.integrity(journalPath: journal.path) {
            let (snapshotResult, modeResult) = StartupChecks.checkSnapshot(snapshot)
            return [integrity, snapshotResult, modeResult, FeedSource.probe(feed)]
        }
        var bytes: [UInt8] = []
        var unreadable: SystemError?
        do { bytes = try FileIO.readFile(journal.path, limit: 1 << 30) ?? [] } catch { unreadable = error }
        var checks = StartupChecks.run(journal: bytes, tornBytes: 0, snapshot: snapshot, feedProbe: FeedSource.probe(feed))
        if let unreadable, let i = checks.firstIndex(where: { $0.name == StartupChecks.eventLogIntegrity }) {
            checks[i] = StartupChecks.unreadableJournal("\(unreadable)")
        }
        return checks
    }
}
