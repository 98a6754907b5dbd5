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
    public private(set) var latch: FailSafe.Latch?
    public private(set) var lastHealth: HealthMonitor.Report?
    public private(set) var feedConnected = false
    /// Whether the watchdog answers (never trading unobserved: `WatchdogObservation`).
    public private(set) var observation: WatchdogObservation
    /// The reason of the last mode change (the status line, `ORDER_BLOCKED`, a refused order).
    public private(set) var modeReason = ""
    /// True while OBSERVE_ONLY is held by `observation` alone (no latch, no other rule).
    private var heldUnobserved = false
    /// Why OBSERVE_ONLY is held while this run does not hold its market's lease across hosts
    /// (`STANDBY`, `LEASE_LOST`, `Engine+Lease.swift`); nil under the local guard and while held.
    public internal(set) var leaseHold: String?
    /// Runs before every new order is considered (the lease deadline is checked there, not only on a timer).
    public var beforeOrder: (() -> Void)?

    private let market: String
    private let symbol: String
    private let streams: [String]
    private let log: EventLog
    private let settings: SafetySettings
    private let snapshotPath: String
    private let now: () -> Double
    private var health: HealthMonitor
    private var failSafe: FailSafe
    private var execution: SimExecution
    /// The identity and fence gates (`OrderGate`), consulted before every new order.
    public var gate: OrderGate
    private var latchCleared: WorkerSnapshot.LatchClearance?
    private var lastSnapshotWrite: Double
    /// The last snapshot write failed (a full or read-only disk): retried once a second, because
    /// it may hold a latch that must survive a crash.
    private var snapshotWriteFailed = false
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
        restored: WorkerSnapshot?, now: @escaping () -> Double
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
        // Orders restored from a previous run keep their IDs; their timeout restarts now.
        let carried = (restored?.orders ?? []).filter { $0.status == .open }.map { o -> SimOrder in
            var o = o
            o.placedAt = t
            return o
        }
        execution = SimExecution(
            market: market, fence: log.fence, timeoutSeconds: settings.orderTimeoutSeconds, restoring: carried,
            positions: restored?.positions ?? [:])
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
        change(
            to: latch?.trigger.latchedMode ?? (leaseHold == nil ? .aggressive : .observeOnly),
            reason: latch.map { "latched: \($0.reason)" } ?? leaseHold ?? "startup checks passed")
        writeSnapshot()
    }

    // MARK: market data

    /// One tick from the feed: refreshes market data, fills what it crosses.
    public func tick(_ tick: Tick) {
        health.marketData(at: now())
        let filled = execution.tick(price: tick.price)
        for order in filled {
            log.emit(.orderFilled, orderData(order, extra: ["fill_price": .double(tick.price), "tick_time": .string(tick.time)]))
        }
        if !filled.isEmpty { writeSnapshot() }
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
        for order in execution.expire(now: t) {
            log.emit(.orderTimeout, orderData(order, extra: ["timeout_seconds": .double(settings.orderTimeoutSeconds)]))
            writeSnapshot()
        }
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
        // The latch reaches the disk with SHUTDOWN, before anything is journaled: a snapshot with a
        // latch and AGGRESSIVE is inconsistent, and a start after a power cut would set it aside.
        mode = .shutdown
        writeSnapshot()
        reportTrip((from, trigger, reason))
        writeSnapshot()
    }

    /// Journals a trip's mode change and FAILSAFE_TRIGGERED; what the journal refuses (a full disk)
    /// is kept and journaled again by `evaluate` until it goes in.
    private func reportTrip(_ trip: (from: SystemMode, trigger: FailSafe.Trigger, reason: String)) {
        let changed = change(from: trip.from, to: .shutdown, reason: "fail-safe \(trip.trigger.rawValue): \(trip.reason)")
        let triggered =
            changed
            && log.emit(
                .failsafeTriggered,
                [
                    "trigger": .string(trip.trigger.rawValue), "reason": .string(trip.reason),
                    "open_orders": .int(Int64(execution.open.count)),
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
        let next = leaseHold == nil ? observation.cap(.aggressive) : .observeOnly
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

    public func place(stream: String?, side: SimOrder.Side, quantity: Int, limit: Double?) -> OrderReply {
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
        switch execution.place(
            stream: stream, symbol: symbol, side: side, quantity: quantity, limit: limit, mode: mode, now: now(), nowUTC: UTCTimestamp.now()
        ) {
        case .accepted(let order):
            log.emit(.orderPlaced, orderData(order, extra: [:]))
            writeSnapshot()
            return .placed(order)
        case .blocked(let mode):
            log.emit(
                .orderBlocked,
                [
                    "stream": .string(stream), "side": .string(side.rawValue), "quantity": .int(Int64(quantity)),
                    "mode": .string(mode.rawValue),
                    "reason": .string(modeReason),
                ])
            return .blocked(mode)
        case .rejected(let why):
            log.emit(.orderRejected, ["stream": .string(stream), "reason": .string(why)])
            return .rejected(why)
        }
    }

    /// Order IDs the market's history used (`FenceMemory`): never handed out again.
    public func remember(usedOrderIDs: Set<String>) { execution.usedIDs.formUnion(usedOrderIDs) }

    /// New orders carry `fence` from now on (raised, never lowered; `EventLog.fence` follows).
    /// `persist: false` leaves the snapshot to the caller's next write (a lease acquisition's
    /// startup checks write it before the handler ends).
    public func raiseFence(to fence: Int64, persist: Bool = true) {
        guard fence > execution.fence else { return }
        execution.fence = fence
        if persist { writeSnapshot() }
    }

    /// Cancels an open order; allowed in every mode.
    public func cancel(_ clientOrderID: String) -> SimOrder? {
        guard let order = execution.cancel(clientOrderID) else { return nil }
        log.emit(.orderCancelled, orderData(order, extra: ["mode": .string(mode.rawValue)]))
        writeSnapshot()
        return order
    }

    public var openOrders: [SimOrder] { execution.open.values.sorted { $0.clientOrderID < $1.clientOrderID } }

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
        case .observed where heldUnobserved && latch == nil && leaseHold == nil && mode == .observeOnly:
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
    public func writeSnapshot() {
        let snapshot = WorkerSnapshot(
            market: market, runID: log.runID, fence: log.fence, mode: mode, latch: latch, latchCleared: latchCleared, orders: openOrders,
            positions: execution.positions, writtenAtUTC: UTCTimestamp.now())
        lastSnapshotAttempt = now()
        do {
            try FileIO.replaceAtomically(snapshotPath, snapshot.encoded())
            lastSnapshotWrite = now()
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

    private func orderData(_ o: SimOrder, extra: JSONObject) -> JSONObject {
        var d: JSONObject = [
            "client_order_id": .string(o.clientOrderID), "stream": .string(o.stream), "symbol": .string(o.symbol),
            "side": .string(o.side.rawValue), "quantity": .int(Int64(o.quantity)), "limit": o.limit.map { .double($0) } ?? .null,
            "status": .string(o.status.rawValue),
        ]
        for (k, v) in extra.members { d[k] = v }
        return d
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
