import Observability
import Platform
import RobotConfig
import Wire

/// A worker's engine: consumes market data, keeps health, modes and the fail-safe latch, gates and
/// fills SIM orders, and persists its snapshot (docs/robot-worker.md, "Modes, health and the fail-safe").
///
/// Every decision is made by the pure cores (`HealthMonitor`, `FailSafe`, `SimExecution`,
/// `StartupChecks`); the engine turns their answers into events and snapshot writes. It runs on the
/// worker's reactor thread; `now` is monotonic seconds.
///
/// Order of a fail-safe trigger: the latch is written to the snapshot first, then the mode changes,
/// then `FAILSAFE_TRIGGERED` is journaled, so a crash at any point comes back latched.
public final class Engine {
    public private(set) var mode: SystemMode = .observeOnly
    public internal(set) var latch: FailSafe.Latch?
    public private(set) var lastHealth: HealthMonitor.Report?
    public private(set) var feedConnected = false
    /// Whether the watchdog answers (never trading unobserved: `WatchdogObservation`).
    public private(set) var observation: WatchdogObservation
    /// The reason of the last mode change (the status line, `ORDER_BLOCKED`, a refused order).
    public private(set) var modeReason = ""
    /// True while OBSERVE_ONLY is held by `observation` alone (no latch, no other rule).
    var heldUnobserved = false
    /// Why the un-acked ceiling holds OBSERVE_ONLY (`UnackedCeiling`); nil when it does not.
    public internal(set) var ceilingHold: String?
    /// Why a rule other than the latch and the watchdog's observation holds OBSERVE_ONLY (the
    /// lease, the un-acked ceiling, the venue, the strategy); nil when none does.
    var heldBy: String? { leaseHold ?? ceilingHold ?? desk.holdReason.map { "venue: \($0)" } ?? strategyHold }
    /// The venue is started once; a lease granted again reconciles with it instead.
    private var deskStarted = false
    /// Why OBSERVE_ONLY is held while this run does not hold its market's lease across hosts
    /// (`STANDBY`, `LEASE_LOST`, `Engine+Lease.swift`); nil under the local guard and while held.
    public internal(set) var leaseHold: String?
    /// Runs before every new order is considered (the lease deadline is checked there, not only on a timer).
    public var beforeOrder: (() -> Void)?
    /// Why the strategy holds OBSERVE_ONLY (it crashed or hung and has not said `ready` since); nil: no hold.
    public internal(set) var strategyHold: String?

    private let market: String
    private let symbol: String
    private let streams: [String]
    let log: EventLog
    private let settings: SafetySettings
    private let snapshotPath: String
    private let now: () -> Double
    private var health: HealthMonitor
    private var failSafe: FailSafe
    /// The orders, their venue, positions and the capital ledger (`OrderDesk`).
    public let desk: OrderDesk
    /// The identity and fence gates (`OrderGate`), consulted before every new order.
    public var gate: OrderGate
    private var latchCleared: WorkerSnapshot.LatchClearance?
    private var lastSnapshotWrite: Double
    /// The last snapshot write failed (a full or read-only disk): retried once a second, because
    /// it may hold a latch that must survive a crash.
    private(set) var snapshotWriteFailed = false
    private var lastSnapshotAttempt: Double = -.infinity
    /// A fail-safe trip whose SYSTEM_MODE_CHANGE or FAILSAFE_TRIGGERED could not be journaled: both
    /// are journaled (and so sent) again once the journal takes writes, never silently dropped.
    private var unreportedTrip: (from: SystemMode, trigger: FailSafe.Trigger, reason: String)?
    /// Consecutive failed journal writes (logged at the first and when writes work again).
    private var failedWrites = 0
    private var lastHealthEmit: Double = -.infinity
    private let startedAt: Double

    /// Starts from what the startup checks found. `restored` is the previous snapshot when it was
    /// readable; its latch and open orders carry over.
    public init(
        market: String, symbol: String, streams: [String], log: EventLog, settings: SafetySettings, snapshotPath: String,
        restored: WorkerSnapshot?, venue: (any ExecutionVenue)? = nil, capital: Double = 10_000_000, reconcileInterval: Double = 60,
        referencePrice: Double = 0,
        now: @escaping () -> Double
    ) {
        self.market = market
        self.symbol = symbol
        self.streams = streams
        self.log = log
        self.settings = settings
        self.snapshotPath = snapshotPath
        self.now = now
        let t = now()
        startedAt = t
        var healthThresholds = HealthMonitor.Thresholds()
        healthThresholds.maxErrorsPerMinute = settings.maxErrorsPerMinute
        healthThresholds.marketDataStaleSeconds = settings.marketDataStaleSeconds
        healthThresholds.eventLogStaleSeconds = settings.eventLogStaleSeconds
        health = HealthMonitor(thresholds: healthThresholds, startedAt: t)
        var failThresholds = FailSafe.Thresholds()
        failThresholds.marketDataStalledSeconds = settings.marketDataStalledSeconds
        failThresholds.eventLogFailingSeconds = settings.eventLogFailingSeconds
        failThresholds.noSnapshotSeconds = settings.noSnapshotSeconds
        failThresholds.healthFailingSeconds = settings.healthFailingSeconds
        failSafe = FailSafe(thresholds: failThresholds, startedAt: t)
        observation = WatchdogObservation(limitSeconds: settings.tradeWithoutWatchdog ? nil : settings.unobservedSeconds, startedAt: t)
        // Orders restored from a previous run keep their IDs (and, once accepted, their age: `OrderDesk`).
        let carried = (restored?.orders ?? []).filter { $0.status == .open || $0.status == .pending }
        let book = SimExecution(
            market: market, fence: log.fence, timeoutSeconds: settings.orderTimeoutSeconds, restoring: carried,
            positions: restored?.positions ?? [:])
        desk = OrderDesk(
            venue: venue
                ?? SimVenue(
                    account: "", market: market,
                    // A pending order in a SIM worker's snapshot (one written before the venue heard
                    // of it, as earlier versions did) was accepted in the same call that placed it: the
                    // SIM held it. Accepted orders only the journal holds are in `restored` too
                    // (`FenceMemory.restoring`).
                    orders: carried.map { OrderDesk.venueOrder($0, market: market) },
                    positions: restored?.venuePositions ?? []),
            book: book, positions: restored?.venuePositions, log: log, settings: settings, capital: capital,
            reconcileInterval: reconcileInterval, referencePrice: referencePrice, now: now)
        gate = OrderGate(identityGates: settings.identityGatesOrders)
        latch = restored?.latch
        latchCleared = restored?.latchCleared
        lastSnapshotWrite = t
        health.snapshotWrite(at: t)
        log.onWrite = { [unowned self] ok in
            let t = self.now()
            if ok { self.health.eventLogWrite(at: t) } else { self.health.recordError(at: t) }
            self.failSafe.eventLogWrite(succeeded: ok, at: t)
            if !ok, self.failedWrites == 0 {
                Worker.note(
                    "\(self.market): journal write failed: \(self.log.lastWriteError.map { "\($0)" } ?? "unknown error"); events are held back "
                        + "(not sent) until it works again; fail-safe after \(SecondsText.compact(self.settings.eventLogFailingSeconds)) s",
                    .error, ["market": "\(self.market)", "event": "JOURNAL_WRITE_FAILED"])
            } else if ok, self.failedWrites > 0 {
                Worker.note(
                    "\(self.market): journal writes work again after \(self.failedWrites) failed", .notice,
                    ["market": "\(self.market)", "event": "JOURNAL_WRITE_RECOVERED"])
            }
            self.failedWrites = ok ? 0 : self.failedWrites + 1
        }
        desk.persist = { [unowned self] in self.writeSnapshot() }
        desk.trip = { [unowned self] trigger, reason in
            // Once per latch, and never from SHUTDOWN down to OBSERVE_ONLY.
            guard self.latch == nil || (self.latch?.trigger.latchedMode == .observeOnly && trigger.latchedMode == .shutdown) else { return }
            self.trip(trigger, reason)
        }
    }

    /// Journals the startup checks and settles the first mode: latched if a latch carried over or a
    /// check failed, else `AGGRESSIVE`. Writes the snapshot.
    public func start(checks: [StartupChecks.Result]) {
        let failed = checks.filter { !$0.passed }
        log.emit(
            .startupChecks,
            [
                "passed": .bool(failed.isEmpty),
                "checks": .array(
                    checks.map { .object(["name": .string($0.name), "passed": .bool($0.passed), "detail": .string($0.detail)]) }),
            ])
        if latch == nil, !failed.isEmpty {
            latch = FailSafe.Latch(
                trigger: .startupChecksFailed,
                reason: "startup checks failed: " + failed.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                latchedAtUTC: UTCTimestamp.now(), runID: log.runID)
        }
        if !deskStarted {
            deskStarted = true
            desk.start()
            // From now on (the first mode is settled below, with the venue's hold as it stands).
            desk.onHold = { [unowned self] reason in self.venueHold(reason) }
        } else {
            // A lease granted again (a takeover): compare with the venue before trading on the new fence.
            desk.reconcile("takeover")
        }
        change(
            to: latch?.trigger.latchedMode ?? (heldBy == nil ? .aggressive : .observeOnly),
            reason: latch.map { "latched: \($0.reason)" } ?? heldBy ?? "startup checks passed")
        writeSnapshot()
    }

    // MARK: market data

    /// One tick from the feed: refreshes market data, fills what it crosses.
    public func tick(_ tick: Tick) {
        health.marketData(at: now())
        desk.tick(tick)
    }

    /// The feed connected, closed or failed; reported, never fatal.
    public func feed(connected: Bool, detail: String) {
        guard connected != feedConnected else { return }
        feedConnected = connected
        log.emit(.feedStatus, ["connected": .bool(connected), "detail": .string(detail)])
    }

    /// Counts an error against the error rate (a bad tick line, a failed write).
    public func recordError() { health.recordError(at: now()) }

    // MARK: periodic evaluation

    /// Health, fail-safe triggers, order timeouts and the periodic snapshot. Called by a timer.
    public func evaluate() {
        let t = now()
        desk.evaluate(now: t)
        health.queue = desk.queueStatus(now: t)
        let report = health.report(now: t)
        // One event when the failing rules change, else one per health interval.
        if report.rules != lastHealth?.rules || t - lastHealthEmit >= settings.healthIntervalSeconds {
            lastHealthEmit = t
            log.emit(.healthStatus, healthData(report))
        }
        lastHealth = report
        if latch?.trigger.latchedMode != .shutdown, let (trigger, reason) = failSafe.evaluate(health: health, now: t) {
            trip(trigger, reason)
        }
        if let trip = unreportedTrip { reportTrip(trip) }
        if let c = observation.evaluate(now: t) { observationChanged(c) }
        if t - lastSnapshotWrite >= settings.snapshotIntervalSeconds || (snapshotWriteFailed && t - lastSnapshotAttempt >= 1) {
            writeSnapshot()
        }
    }

    /// Latches the fail-safe for an unrecoverable error.
    public func unrecoverable(_ reason: String) { trip(.unrecoverableError, reason) }

    private func trip(_ trigger: FailSafe.Trigger, _ reason: String) {
        latch = FailSafe.Latch(trigger: trigger, reason: reason, latchedAtUTC: UTCTimestamp.now(), runID: log.runID)
        let from = mode
        // The latch reaches the disk with its mode, before anything is journaled: a snapshot with a
        // latch and AGGRESSIVE is inconsistent, and a start after a power cut would set it aside.
        mode = trigger.latchedMode
        writeSnapshot()
        reportTrip((from, trigger, reason))
        writeSnapshot()
    }

    /// Journals a trip's mode change and FAILSAFE_TRIGGERED; what the journal refuses (a full disk)
    /// is kept and journaled again by `evaluate` until it goes in.
    private func reportTrip(_ trip: (from: SystemMode, trigger: FailSafe.Trigger, reason: String)) {
        let changed = change(from: trip.from, to: trip.trigger.latchedMode, reason: "fail-safe \(trip.trigger.rawValue): \(trip.reason)")
        let triggered =
            changed
            && log.emit(
                .failsafeTriggered,
                [
                    "trigger": .string(trip.trigger.rawValue), "reason": .string(trip.reason),
                    "open_orders": .int(Int64(desk.book.open.count)),
                ]) != nil
        unreportedTrip = triggered ? nil : trip
    }

    // MARK: operator

    /// Clears the latch on an operator's acknowledgement; the worker may then return to AGGRESSIVE.
    /// Returns what happened, for the operator.
    public func clearLatch(by who: String) -> (cleared: Bool, message: String) {
        guard let current = latch else { return (false, "\(market) has no latch to clear (mode \(mode.rawValue))") }
        latchCleared = WorkerSnapshot.LatchClearance(by: who, atUTC: UTCTimestamp.now(), trigger: current.trigger)
        latch = nil
        writeSnapshot()
        log.emit(
            .failsafeCleared, ["trigger": .string(current.trigger.rawValue), "reason": .string(current.reason), "cleared_by": .string(who)])
        let next = heldBy == nil ? observation.cap(.aggressive) : .observeOnly
        change(
            to: next,
            reason: "latch \(current.trigger.rawValue) cleared by \(who)"
                + (next == .aggressive ? "" : "; \(WatchdogObservation.reasonCode)"))
        heldUnobserved = next != .aggressive
        writeSnapshot()
        return (true, "\(market): \(current.trigger.rawValue) latch cleared by \(who); mode \(next.rawValue)")
    }

    // MARK: orders

    public enum OrderReply: Sendable, Equatable {
        case placed(SimOrder)
        case blocked(SystemMode)
        case rejected(String)
        /// Refused by the order gate (`OrderGate`): `IDENTITY_VIOLATION`, `FENCE_UNCONFIRMED`, ...
        case refused(OrderGate.Refusal)
    }

    /// `alongside` journals what goes with a placed order (after `ORDER_PLACED`, in the same sync).
    public func place(
        stream: String?, side: SimOrder.Side, quantity: Int, limit: Double?, alongside: ((SimOrder) -> Void)? = nil
    ) -> OrderReply {
        beforeOrder?()
        let stream = stream ?? streams.first ?? market
        guard streams.contains(stream) else {
            let why = "stream \(stream) is not one of \(market)'s streams (\(streams.joined(separator: ", ")))"
            log.emit(.orderRejected, ["stream": .string(stream), "reason": .string(why)])
            return .rejected(why)
        }
        if mode.mayExecute, let refusal = gate.refusal(stream: stream) {
            log.emit(.orderRejected, ["stream": .string(stream), "reason": .string(refusal.reason), "detail": .string(refusal.detail)])
            return .refused(refusal)
        }
        return desk.place(
            stream: stream, symbol: symbol, side: side, quantity: quantity, limit: limit, mode: mode, modeReason: modeReason,
            alongside: alongside)
    }

    /// Latches the fail-safe `STRATEGY_MISBEHAVING`.
    public func strategyMisbehaving(_ reason: String) { trip(.strategyMisbehaving, reason) }

    // MARK: watchdog

    /// The watchdog answered (a welcome or an ack): ends an unobserved period.
    public func watchdogAnswered() {
        if let c = observation.answered(at: now()) { observationChanged(c) }
    }

    /// Holds OBSERVE_ONLY while unobserved, and returns to AGGRESSIVE when only this rule held it.
    private func observationChanged(_ c: WatchdogObservation.Change) {
        log.metrics?.watchdogUnreachable(observation.unobserved)
        switch c {
        case .unobserved where mode == .aggressive:
            change(to: .observeOnly, reason: c.reason)
            heldUnobserved = true
        case .observed where heldUnobserved && latch == nil && heldBy == nil && mode == .observeOnly:
            change(to: .aggressive, reason: c.reason)
        default:
            return
        }
        writeSnapshot()
    }

    // MARK: helpers

    func change(to new: SystemMode, reason: String) {
        let old = mode
        mode = new
        change(from: old, to: new, reason: reason)
    }

    /// Journals a mode change; false when the journal refused it.
    @discardableResult
    private func change(from old: SystemMode, to new: SystemMode, reason: String) -> Bool {
        modeReason = reason
        heldUnobserved = false
        // The latch travels with every mode change, so the watchdog's view never depends on having
        // seen the FAILSAFE_TRIGGERED of an earlier run.
        let latchData: JSONValue =
            latch.map {
                .object([
                    "trigger": .string($0.trigger.rawValue), "reason": .string($0.reason), "latched_at_utc": .string($0.latchedAtUTC),
                    "run_id": .string($0.runID),
                ])
            } ?? .null
        // `monotonic_ns`: CLOCK_MONOTONIC, one clock for every process of the host, so an observer can
        // order the AGGRESSIVE windows of successive runs (scenarios/chaos/oracle.py) without wall time.
        return log.emit(
            .systemModeChange,
            [
                "from": .string(old.rawValue), "to": .string(new.rawValue), "reason": .string(reason), "latch": latchData,
                "monotonic_ns": .int(Int64((now() * 1e9).rounded())),
            ]) != nil
    }

    /// Writes the snapshot atomically. A failure is counted against health, never fatal here; the
    /// no-snapshot trigger catches a disk that stays unwritable.
    /// Syncs the journal's pending lines now (group commit): an answer to a client (the control
    /// socket's, the strategy's) goes out only after the lines that led to it are durable.
    public func commitJournal() { log.commit() }

    public func writeSnapshot() {
        log.commit() // the journal's lines first: the snapshot never holds what the journal does not
        let snapshot = WorkerSnapshot(
            market: market, runID: log.runID, fence: log.fence, mode: mode, latch: latch, latchCleared: latchCleared, orders: openOrders,
            positions: desk.book.positions, venuePositions: desk.positions.values.sorted { $0.symbol < $1.symbol },
            writtenAtUTC: UTCTimestamp.now())
        lastSnapshotAttempt = now()
        do {
            try FileIO.replaceAtomically(snapshotPath, snapshot.encoded())
            lastSnapshotWrite = now()
            desk.unsnapshotted.removeAll()
            health.snapshotWrite(at: lastSnapshotWrite)
            if snapshotWriteFailed {
                Worker.note(
                    "\(snapshotPath): the snapshot is written again", .notice, ["market": "\(market)", "event": "SNAPSHOT_WRITE_RECOVERED"])
            }
            snapshotWriteFailed = false
        } catch {
            health.recordError(at: now())
            if !snapshotWriteFailed {
                Worker.note(
                    "\(snapshotPath): cannot write the snapshot: \(error); retried every second", .error,
                    ["market": "\(market)", "event": "SNAPSHOT_WRITE_FAILED"])
            }
            snapshotWriteFailed = true
        }
    }

    private func healthData(_ r: HealthMonitor.Report) -> JSONObject {
        [
            "healthy": .bool(r.healthy), "reasons": .strings(r.reasons), "rules": .strings(r.rules),
            "uptime_seconds": .double(now() - startedAt),
            "rss_bytes": .int(ProcessMetrics.residentBytes() ?? 0), "error_rate_per_minute": .double(r.errorsPerMinute),
            "market_data_age_seconds": r.marketDataAgeSeconds.map { .double($0) } ?? .null,
            "event_log_age_seconds": r.eventLogAgeSeconds.map { .double($0) } ?? .null,
            "snapshot_age_seconds": r.snapshotAgeSeconds.map { .double($0) } ?? .null, "execution_queue": .string(r.queue.rawValue),
            "mode": .string(mode.rawValue),
        ]
    }
}
