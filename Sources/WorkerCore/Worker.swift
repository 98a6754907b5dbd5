import Guard
import Logging
import Observability
import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// What `robot-worker` was asked to run.
public struct WorkerOptions: Sendable {
    /// A canonical or execution instrument, as given on the command line.
    public var symbol: String
    public var location: ConfigLocation

    public init(symbol: String, location: ConfigLocation) {
        self.symbol = symbol
        self.location = location
    }

    public var environment: [String: String] { location.environment }
}

/// One canonical market's executor: holds its lock, checks its identity invariants, heartbeats,
/// journals every event and speaks sd_notify. `run` returns the exit status (`ExitStatus`).
///
/// `WorkerStartup` makes it, step by step, once the lock is held and the engine has settled the
/// first mode. Everything after that happens on one reactor thread: the engine tick, the
/// invariants and heartbeat timers, `WATCHDOG=1`, and the signals (SIGTERM/SIGINT stop, SIGHUP
/// reloads).
public final class Worker {
    /// Everything a running worker is made of, as `WorkerStartup` leaves it.
    struct Parts {
        var options: WorkerOptions
        var reactor: Reactor
        var config: Configuration
        var canonical: String
        var spec: MarketSpec
        var executionOverride: String?
        var log: EventLog
        var lock: any HeldMarketGuard
        var identity: IdentityWatch
        var startedAt: Int64
        var engine: Engine
        var gates: GateKeeper
        var link: WatchdogLink
        var control: WorkerControl?
        var endpoint: MetricsEndpoint
        var metrics: WorkerMetrics
        var diagnostics: ProcessLog
        /// The lease across hosts (`guard.backend: postgresql`); nil under the local guard.
        var lease: LeaseKeeper?
    }

    private let options: WorkerOptions
    private let reactor: Reactor
    private var config: Configuration
    private let canonical: String
    private var spec: MarketSpec
    /// The execution instrument: the symbol when it is an execution instrument, else the market's default.
    private let executionOverride: String?
    private let log: EventLog
    private let lock: any HeldMarketGuard
    private var identity: IdentityWatch
    private let startedAt: Int64
    private var exitStatus: ExitStatus = .ok
    private let engine: Engine
    private let gates: GateKeeper
    private let feed: FeedSource
    /// The market's strategy process (`markets.M.strategy`); nil when none is configured.
    private let strategy: StrategyHost?
    /// The control socket; nil when it could not be made (logged: orders cannot be placed).
    private let control: WorkerControl?
    private let link: WatchdogLink
    /// The registry, process metrics and `/metrics` server of this worker.
    private let endpoint: MetricsEndpoint
    private let metrics: WorkerMetrics
    /// Carries `market`, `run_id` and `fence` into every line (journal fields MARKET=, RUN_ID=, FENCE=).
    private let diagnostics: ProcessLog
    private let lease: LeaseKeeper?
    /// READY has been sent (the venue's first reconciliation is done or its wait is over).
    private var ready = false
    /// The worker's log before (and outside) a running worker: start-up failures, the engine's and
    /// the link's lines.
    static let log = ProcessLog("robot-worker", level: .error, failureEvent: "WORKER_START_FAILED")

    /// Starts the worker and runs it until it stops; returns its exit status.
    public static func run(_ options: WorkerOptions) -> ExitStatus { WorkerStartup.run(options) }

    init(_ parts: Parts) {
        options = parts.options
        reactor = parts.reactor
        config = parts.config
        canonical = parts.canonical
        spec = parts.spec
        executionOverride = parts.executionOverride
        log = parts.log
        lock = parts.lock
        identity = parts.identity
        startedAt = parts.startedAt
        engine = parts.engine
        gates = parts.gates
        link = parts.link
        control = parts.control
        endpoint = parts.endpoint
        metrics = parts.metrics
        diagnostics = parts.diagnostics
        lease = parts.lease
        let (engine, diagnostics, canonical) = (parts.engine, parts.diagnostics, parts.canonical)
        let strategy = StrategyHost.make(parts)
        self.strategy = strategy
        feed = FeedSource(
            spec: spec.feed, reactor: reactor, instruments: [canonical, executionOverride ?? spec.execution],
            onTick: { [unowned engine] tick in
                engine.tick(tick)
                strategy?.tick(tick)
            },
            onStatus: { [unowned engine] connected, detail in engine.feed(connected: connected, detail: detail) },
            onBadLine: { [unowned engine] why in
                engine.recordError()
                diagnostics.note("\(canonical): feed: \(why)", event: "FEED_BAD_LINE", .warning)
            })
        link.onWelcome = { [unowned self] in self.emitHeartbeat() }
        let (gates, link) = (parts.gates, parts.link)
        link.onHighWater = { [unowned gates] mark, refused in gates.highWater(mark, refused: refused) }
        link.onUnreachableAtStart = { [unowned gates] in gates.unreachableAtStart() }
        gates.reconnect = { [unowned link] in link.reconnect() }
        link.onAnswer = { [unowned self] in
            let before = (self.engine.mode, self.engine.observation.unobserved)
            self.engine.watchdogAnswered()
            self.modeChanged(from: before)
        }
        link.onCeiling = { [unowned self] change in self.ceilingChanged(change) }
        link.audit?.onDamaged = { [unowned self] outcome in // a sealed segment failed its check after READY
            let before = (self.engine.mode, self.engine.observation.unobserved)
            self.note(outcome.damage?.detail ?? "", event: "JOURNAL_SEGMENT_DAMAGED", .critical)
            self.engine.sealedSegmentDamaged(outcome)
            self.metrics.failsafeLatched(self.engine.latch != nil)
            self.modeChanged(from: before)
        }
        link.replayCeiling()
        lease?.onChange = { [unowned self] in
            self.sendStatus()
            self.activeHolderChanged()
        }
        lease?.onFenceRaised = { [unowned link] in link.reconnect() }
        link.onClearLatch = { [unowned self] by in
            let result = self.engine.clearLatch(by: by)
            self.note(
                result.message, event: result.cleared ? EventType.failsafeCleared.rawValue : "LATCH_NOT_CLEARED",
                result.cleared ? .notice : .warning)
            self.sendStatus()
            if result.cleared { self.strategy?.latchCleared() }
        }
    }

    private var execution: String { executionOverride ?? spec.execution }

    /// Starts the feed, says READY and runs the loop until SIGTERM or SIGINT.
    func serve() -> ExitStatus {
        // From here one loop iteration's events share one fdatasync (EventLog, "Group commit").
        log.enableGroupCommit { [unowned reactor] body in reactor.schedule(afterNanos: 0, body) }
        // The snapshot catches up with the orders placed once nothing else is ready (Engine+SnapshotLag).
        if !TestSnapshotLag.held {
            reactor.onIdle = { [unowned self] in self.engine.catchUpSnapshot() }
            reactor.idleWanted = { [unowned self] in self.engine.snapshotLags }
        }
        feed.start()
        // READY once the venue's first reconciliation is done, or after venue.start_wait_seconds
        // (then in OBSERVE_ONLY with the venue's reason, until it answers).
        VenueStart.whenSettled(engine.desk, reactor: reactor, within: config.venue.startWaitSeconds) { [unowned self] in
            SdNotify.send("READY=1")
            self.ready = true
            self.link.audit?.start(reactor: self.reactor) // the sealed segments' checksums (SegmentAudit)
            self.sendStatus()
            self.activeHolderChanged()
        }

        try? reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { [unowned self] signal in
            if signal == SIGHUP { self.reload() } else { self.stop() }
        }
        scheduleHeartbeat(after: 0)
        scheduleInvariants()
        scheduleEvaluation(every: evaluationInterval)
        ProcessShell.pingWatchdog(on: reactor)
        lease?.start()
        reactor.run()
        endpoint.shutdown()
        return exitStatus
    }

    /// READY and holding the market (under the lease across hosts: holding the lease, not STANDBY
    /// or LEASE_LOST): what runs only on the active holder (the strategy process) starts; otherwise
    /// it stops. Called at READY and whenever the lease's role changes.
    private func activeHolderChanged() {
        if ready, lease?.holds ?? true { strategy?.activate() } else { strategy?.deactivate() }
    }

    // MARK: engine timers

    private func scheduleHeartbeat(after nanos: Int64) {
        reactor.schedule(afterNanos: nanos) { [unowned self] in
            self.emitHeartbeat()
            self.scheduleHeartbeat(after: Int64(self.config.timings.heartbeatInterval * 1e9))
        }
    }

    private func emitHeartbeat() {
        log.emit(
            .heartbeat,
            [
                "mode": .string(engine.mode.rawValue), "uptime_seconds": .double(uptimeSeconds),
                "rss_bytes": .int(ProcessMetrics.residentBytes() ?? 0),
                "interval_seconds": .double(config.timings.heartbeatInterval),
                "lease": lease.map { .object($0.summary) } ?? .null,
            ])
    }

    private func scheduleInvariants() {
        let now = MonotonicClock.nowNanos()
        reactor.schedule(afterNanos: identity.nextCheck(now: now) - now) { [unowned self] in
            self.checkInvariants()
            self.scheduleInvariants()
        }
    }

    /// Health, fail-safe and order timeouts are evaluated at a quarter of the shortest threshold,
    /// between 50 ms and 1 s.
    private var evaluationInterval: Double {
        let s = config.safety
        let shortest =
            [
                s.healthIntervalSeconds, s.marketDataStaleSeconds, s.marketDataStalledSeconds, s.eventLogStaleSeconds,
                s.orderTimeoutSeconds, s.healthFailingSeconds, s.unobservedSeconds,
            ].min() ?? 1
        return min(1, max(0.05, shortest / 4))
    }

    private func scheduleEvaluation(every seconds: Double) {
        reactor.schedule(afterSeconds: seconds) { [unowned self] in
            let before = (self.engine.mode, self.engine.observation.unobserved)
            self.engine.evaluate()
            self.modeChanged(from: before)
            self.scheduleEvaluation(every: seconds)
        }
    }

    /// Logs a mode change the engine made since `before` (mode, unobserved) and sends the new
    /// status when it or the unobserved state changed.
    private func modeChanged(from before: (mode: SystemMode, unobserved: Bool)) {
        strategy?.modeMaybeChanged()
        if engine.mode != before.mode {
            note(
                "\(canonical): mode \(before.mode.rawValue) -> \(engine.mode.rawValue): \(engine.modeReason)",
                event: EventType.systemModeChange.rawValue, engine.mode == .aggressive ? .notice : .critical)
        } else if engine.observation.unobserved == before.unobserved {
            return
        }
        sendStatus()
    }

    private func checkInvariants() {
        let outcome = identity.check(canonical: canonical, execution: execution, streams: spec.streams, now: MonotonicClock.nowNanos())
        gates.identity(IdentityInvariants(canonical: canonical, execution: execution, streams: spec.streams))
        guard let event = outcome.event else { return }
        log.emit(.identityInvariantsStatus, event)
        if let result = outcome.changed {
            note(
                "\(canonical): identity invariants \(result.pass ? "pass again" : "violated: " + result.violations.joined(separator: "; "))",
                event: EventType.identityInvariantsStatus.rawValue, result.pass ? .notice : .error)
            sendStatus()
        }
    }

    /// The un-acked ceiling tripped or cleared: one critical line (the alert) and the mode.
    private func ceilingChanged(_ change: UnackedCeiling.Change) {
        let before = (engine.mode, engine.observation.unobserved)
        engine.ceiling(change)
        switch change {
        case .tripped(let reason): note("\(canonical): \(reason); holding OBSERVE_ONLY", event: "JOURNAL_UNACKED_CEILING", .critical)
        case .cleared(let reason): note("\(canonical): \(reason)", event: "JOURNAL_UNACKED_CEILING_CLEARED", .notice)
        }
        modeChanged(from: before)
    }

    // MARK: signals

    private func reload() {
        let fresh: Configuration
        do {
            fresh = try options.location.load()
        } catch {
            rejectReload("\(error)")
            return
        }
        guard let newSpec = fresh.markets[canonical] else {
            rejectReload("\(fresh.source): markets: \(canonical) is no longer configured; keeping the running configuration")
            return
        }
        spec = newSpec
        config.markets[canonical] = newSpec
        log.emit(
            .configReloaded,
            [
                "source": .string(fresh.source), "execution_instrument": .string(execution),
                "stream_ids": .strings(newSpec.streams.map(\.id)),
            ])
        note("\(canonical): configuration reloaded from \(fresh.source)", event: EventType.configReloaded.rawValue)
        checkInvariants()
    }

    private func rejectReload(_ reason: String) {
        log.emit(.configReloadFailed, ["error": .string(reason), "kept": .strings(spec.streams.map(\.id))])
        note("\(canonical): reload refused, running configuration kept: \(reason)", event: EventType.configReloadFailed.rawValue, .error)
    }

    private func stop() {
        SdNotify.send("STOPPING=1")
        // The lease first (it stops trading, then releases): a standby takes over while the strategy stops.
        lease?.release()
        strategy?.stop()
        engine.writeSnapshot()
        let heldSeconds = uptimeSeconds
        log.emit(.lockReleased, ["lock_file": .string(lock.path), "fence": .int(lock.record.fence), "held_seconds": .double(heldSeconds)])
        link.flushBeforeExit(timeoutSeconds: 0.5)
        do { try lock.release() } catch {
            note("\(lock.path): release: \(error) (the kernel releases the lock at exit)", event: "LOCK_RELEASE_FAILED", .warning)
        }
        note("\(canonical): lock released, stopping", event: EventType.lockReleased.rawValue)
        reactor.stop()
    }

    // MARK: helpers

    private var uptimeSeconds: Double { Double(MonotonicClock.nowNanos() - startedAt) / 1e9 }

    private var unobservedBadge: String { engine.observation.unobserved ? " (\(WatchdogObservation.reasonCode))" : "" }

    private func sendStatus() {
        let badge = identity.passing ? "identity OK" : "IDENTITY VIOLATION"
        SdNotify.send(
            SdNotify.statusLine(
                "\(canonical) (\(execution)): \(lease?.statusText ?? "lock held"), fence \(lock.record.fence), \(badge), \(engine.mode.rawValue)\(unobservedBadge), run \(log.runID)"
            ))
    }

    /// One line about a change of this worker's state, with its market, run and fence, and `event`
    /// naming the change (the journal's `EVENT=` field).
    private func note(_ message: String, event: String, _ level: Logger.Level = .info) {
        diagnostics.note(message, event: event, level)
    }

    /// A line from outside a running worker (the engine's and the link's).
    static func note(_ message: String, _ level: Logger.Level = .error, _ metadata: Logger.Metadata = [:]) {
        log.note(message, level, metadata: metadata)
    }
}
