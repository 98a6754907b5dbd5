#if canImport(Glibc)
import Glibc
#endif
import Platform
import Wire
import Guard
import Logging
import Observability
import RobotConfig

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
/// Everything after start-up happens on one reactor thread: the engine tick, the invariants and
/// heartbeat timers, `WATCHDOG=1`, and the signals (SIGTERM/SIGINT stop, SIGHUP reloads).
public final class Worker {
    private let options: WorkerOptions
    private let reactor: Reactor
    private var config: Configuration
    private let market: CanonicalMarket
    private var canonical: String { market.name }
    private var spec: MarketSpec
    /// The execution instrument: the symbol when it is an execution instrument, else the market's default.
    private let executionOverride: String?
    private let log: EventLog
    private let lock: any HeldMarketGuard
    private var schedule: InvariantsSchedule
    private let startedAt = MonotonicClock.nowNanos()
    private var lastInvariants: IdentityInvariants.Result?
    private var exitStatus: ExitStatus = .ok
    private var engine: Engine!
    private var feed: FeedSource?
    private var control: WorkerControl?
    private var link: WatchdogLink?
    /// The registry, process metrics and `/metrics` server of this worker.
    private let endpoint: MetricsEndpoint
    private let metrics: WorkerMetrics
    /// Carries `market`, `run_id` and `fence` into every line (journal fields MARKET=, RUN_ID=, FENCE=).
    private var logger: Logger

    /// Starts the worker and runs it until it stops; returns its exit status.
    public static func run(_ options: WorkerOptions) -> ExitStatus {
        ProcessLogging.bootstrap(identifier: "robot-worker", environment: options.environment)
        if let problem = SupervisorParent.askForTerminationOnParentDeath(environment: options.environment) {
            return fail(.parentGone, problem)
        }
        let reactor: Reactor
        do {
            reactor = try Reactor()
            // Blocked from the first moment: a SIGTERM during start-up waits for the loop.
            try reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { _ in }
        } catch {
            return fail(.osError, "\(error)")
        }
        let config: Configuration
        do {
            config = try options.location.load()
        } catch {
            return fail(.config, "\(error)")
        }
        let market: CanonicalMarket
        let normalized: String
        do {
            market = try config.instrumentMap.canonical(of: options.symbol)
            normalized = try config.instrumentMap.normalized(options.symbol)
        } catch {
            return fail(.config, "--market: \(error)")
        }
        let canonical = market.name
        guard let spec = config.markets[canonical] else {
            let via = canonical == normalized ? "" : " (canonical \(canonical))"
            return fail(
                .config,
                "\(config.source): markets: no market \(normalized)\(via) is configured; configured: "
                    + config.marketNames.joined(separator: ", "))
        }
        let paths = config.paths
        for dir in [paths.lockDir, paths.marketStateDir(market)] {
            do { try Directories.make(dir) } catch {
                return fail(.cannotCreate, "\(dir): cannot create the folder: \(error)")
            }
        }
        let journal: Journal
        do { journal = try Journal(path: paths.journal(market)) } catch {
            return fail(.cannotCreate, "\(paths.journal(market)): cannot open the journal: \(error)")
        }
        let runID = makeRunID(canonical)
        let log = EventLog(market: canonical, runID: runID, pid: getpid(), journal: journal)
        let host = FileIO.hostName()
        let marketGuard: any MarketGuard = FlockMarketGuard(folder: paths.lockDir)
        let outcome: MarketGuardOutcome
        do {
            outcome = try marketGuard.acquire(market, runID: runID, host: host)
        } catch {
            switch error {
            case .fenceDamaged: return fail(.lockStateDamaged, "\(error)")
            case .cannotUse, .unstable: return fail(.cannotCreate, "\(error)")
            }
        }
        switch outcome {
        case .alreadyActive(let holder):
            if let refusal = log.emit(.alreadyActive, alreadyActiveData(holder, lockFile: marketGuard.place(of: market), symbol: options.symbol)) {
                WatchdogLink.deliverOnce([refusal], socketPath: paths.watchdogSocket)
            }
            let who = holder.record.map { "run \($0.runID) (pid \($0.pid) on \($0.host), fence \($0.fence))" } ?? "an unknown holder"
            SdNotify.send(SdNotify.statusLine("\(canonical): refused, lock held by \(who)"))
            return fail(
                .alreadyActive, "\(canonical): another executor holds \(marketGuard.place(of: market)): \(who); \(holder.detail)",
                ["market": "\(canonical)", "run_id": "\(runID)", "event": "\(EventType.alreadyActive.rawValue)"])
        case .acquired(let lock, let previous):
            log.fence = lock.record.fence
            let worker = Worker(
                options: options, reactor: reactor, config: config, market: market, spec: spec,
                executionOverride: normalized == canonical ? nil : normalized, log: log, lock: lock)
            return worker.start(previous: previous, journal: journal)
        }
    }

    private init(
        options: WorkerOptions, reactor: Reactor, config: Configuration, market: CanonicalMarket, spec: MarketSpec,
        executionOverride: String?, log: EventLog, lock: any HeldMarketGuard
    ) {
        self.options = options
        self.reactor = reactor
        self.config = config
        self.market = market
        self.spec = spec
        self.executionOverride = executionOverride
        self.log = log
        self.lock = lock
        self.schedule = InvariantsSchedule(intervalNanos: Int64(config.timings.invariantsInterval * 1e9))
        endpoint = MetricsEndpoint()
        metrics = WorkerMetrics(registry: endpoint.registry, market: market.name)
        log.metrics = metrics
        logger = Logger(label: "robot-worker")
        logger[metadataKey: "market"] = "\(canonical)"
        logger[metadataKey: "run_id"] = "\(log.runID)"
        logger[metadataKey: "fence"] = "\(lock.record.fence)"
    }

    private var execution: String { executionOverride ?? spec.execution }

    private func start(previous: PreviousHolder?, journal: Journal) -> ExitStatus {
        let paths = config.paths
        var cut = 0
        do {
            cut = try journal.repairTornTail()
            if cut > 0 { note("\(journal.path): cut a torn last line of \(cut) bytes left by a crash", event: "JOURNAL_REPAIRED", .warning) }
        } catch {
            note("\(journal.path): cannot repair the journal: \(error)", event: "JOURNAL_REPAIR_FAILED", .error)
        }
        let snapshotPath = paths.snapshot(market)
        let snapshotBytes: [UInt8]? = (try? FileIO.readFile(snapshotPath)) ?? nil
        // Read once: the startup checks and the watchdog link's backlog both work on these bytes.
        var journalBytes: [UInt8] = []
        var unreadable: SystemError?
        do { journalBytes = try FileIO.readFile(journal.path, limit: 1 << 30) ?? [] } catch { unreadable = error }
        var checks = StartupChecks.run(journal: journalBytes, tornBytes: cut, snapshot: snapshotBytes, feedProbe: FeedSource.probe(spec.feed))
        if let unreadable, let i = checks.firstIndex(where: { $0.name == StartupChecks.eventLogIntegrity }) {
            checks[i] = StartupChecks.unreadableJournal("\(unreadable)")
        }
        // Attached before a damaged journal is moved aside, so earlier runs' undelivered events are
        // still offered to the watchdog (which de-duplicates and counts gaps).
        link = WatchdogLink.attach(reactor: reactor, config: config, log: log, journal: journal, journalBytes: journalBytes) {
            [unowned self] in self.emitHeartbeat()
        }
        link?.onClearLatch = { [unowned self] by in
            let result = self.engine.clearLatch(by: by)
            self.note(result.message, event: result.cleared ? EventType.failsafeCleared.rawValue : "LATCH_NOT_CLEARED", result.cleared ? .notice : .warning)
            self.sendStatus()
        }
        let unrecoverable = quarantineDamaged(checks, journal: journal, snapshotPath: snapshotPath)
        let restored = snapshotBytes.flatMap { try? WorkerSnapshot.decode($0).get() }

        let lockFile = lock.path
        if let previous {
            log.emit(.lockStale, Self.staleData(previous, lockFile: lockFile))
        }
        log.emit(
            .lockAcquired,
            [
                "lock_file": .string(lockFile), "fence": .int(lock.record.fence), "acquired_at_utc": .string(lock.record.acquiredAtUTC),
                "host": .string(lock.record.host), "execution_instrument": .string(execution),
            ])
        note("\(canonical): lock \(lockFile) acquired, fence \(lock.record.fence), run \(log.runID)", event: EventType.lockAcquired.rawValue)
        if let port = config.metrics.workerPorts[canonical] { endpoint.serve(host: config.metrics.host, port: port, logger: logger) }
        log.emit(.canonicalizationSelfTest, selfTestData())
        checkInvariants()

        engine = Engine(
            market: canonical, symbol: execution, streams: spec.streams.map(\.id), log: log, settings: config.safety,
            snapshotPath: snapshotPath, restored: restored, now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.start(checks: checks)
        // A damaged journal that cannot be moved aside leaves the records inconsistent: latch SHUTDOWN.
        if let unrecoverable { engine.unrecoverable(unrecoverable) }
        metrics.failsafeLatched(engine.latch != nil)
        if engine.mode != .aggressive {
            note("\(canonical): starting in \(engine.mode.rawValue): \(engine.latch?.reason ?? "")", event: EventType.systemModeChange.rawValue, .warning)
        }
        do {
            try Directories.make(paths.socketDir)
            control = try WorkerControl(path: paths.workerSocket(market), engine: engine, reactor: reactor)
        } catch {
            note("\(paths.workerSocket(market)): no control socket, orders cannot be placed: \(error)", event: "CONTROL_SOCKET_UNAVAILABLE", .error)
        }
        feed = FeedSource(
            spec: spec.feed, reactor: reactor, instruments: [canonical, execution],
            onTick: { [unowned self] tick in self.engine.tick(tick) },
            onStatus: { [unowned self] connected, detail in self.engine.feed(connected: connected, detail: detail) },
            onBadLine: { [unowned self] why in
                self.engine.recordError()
                self.note("\(self.canonical): feed: \(why)", event: "FEED_BAD_LINE", .warning)
            })
        feed?.start()
        SdNotify.send("READY=1")
        sendStatus()

        try? reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { [unowned self] signal in
            if signal == SIGHUP { self.reload() } else { self.stop() }
        }
        scheduleHeartbeat(after: 0)
        scheduleInvariants()
        scheduleEvaluation(every: evaluationInterval)
        if let usec = SdNotify.watchdogMicros() { schedulePing(every: Int64(usec) * 1000 / 2) }
        reactor.run()
        endpoint.shutdown()
        return exitStatus
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
                "mode": .string(engine?.mode.rawValue ?? SystemMode.observeOnly.rawValue), "uptime_seconds": .double(uptimeSeconds),
                "rss_bytes": .int(Self.residentBytes()),
                "interval_seconds": .double(config.timings.heartbeatInterval),
            ])
    }

    private func scheduleInvariants() {
        let now = MonotonicClock.nowNanos()
        reactor.schedule(afterNanos: schedule.nextCheck(now: now) - now) { [unowned self] in
            self.checkInvariants()
            self.scheduleInvariants()
        }
    }

    /// Health, fail-safe and order timeouts are evaluated at a quarter of the shortest threshold,
    /// between 50 ms and 1 s.
    private var evaluationInterval: Double {
        let s = config.safety
        let shortest = [s.healthIntervalSeconds, s.marketDataStaleSeconds, s.marketDataStalledSeconds, s.eventLogStaleSeconds,
            s.orderTimeoutSeconds, s.healthFailingSeconds].min() ?? 1
        return min(1, max(0.05, shortest / 4))
    }

    private func scheduleEvaluation(every seconds: Double) {
        reactor.schedule(afterSeconds: seconds) { [unowned self] in
            let before = self.engine.mode
            self.engine.evaluate()
            if self.engine.mode != before {
                self.note(
                    "\(self.canonical): mode \(before.rawValue) -> \(self.engine.mode.rawValue): \(self.engine.latch?.reason ?? "")",
                    event: EventType.systemModeChange.rawValue, self.engine.mode == .aggressive ? .notice : .critical)
                self.sendStatus()
            }
            self.scheduleEvaluation(every: seconds)
        }
    }

    /// A journal or snapshot that failed its check is moved aside (kept for the operator) so the
    /// worker starts on clean files; the failure itself is reported by `STARTUP_CHECKS` and latched.
    /// Returns why, when a damaged journal cannot be moved aside (an unrecoverable error).
    private func quarantineDamaged(_ checks: [StartupChecks.Result], journal: Journal, snapshotPath: String) -> String? {
        for check in checks where !check.passed {
            switch check.name {
            case StartupChecks.eventLogIntegrity:
                do {
                    let aside = try journal.quarantine(suffix: log.runID)
                    note("\(journal.path): damaged (\(check.detail)); moved to \(aside)", event: "JOURNAL_QUARANTINED", .error)
                } catch {
                    note("\(journal.path): damaged and cannot be moved aside: \(error)", event: "JOURNAL_QUARANTINE_FAILED", .error)
                    return "\(journal.path) is damaged (\(check.detail)) and cannot be moved aside: \(error)"
                }
            case StartupChecks.snapshotConsistency:
                let aside = snapshotPath + ".damaged-" + log.runID
                if rename(snapshotPath, aside) == 0 {
                    note("\(snapshotPath): damaged (\(check.detail)); moved to \(aside)", event: "SNAPSHOT_QUARANTINED", .error)
                }
            default: break
            }
        }
        return nil
    }

    private func schedulePing(every nanos: Int64) {
        reactor.schedule(afterNanos: nanos) { [unowned self] in
            SdNotify.send("WATCHDOG=1")
            self.schedulePing(every: nanos)
        }
    }

    private func checkInvariants() {
        let invariants = IdentityInvariants(canonical: canonical, execution: execution, streams: spec.streams)
        let result = invariants.check()
        let changed = lastInvariants != nil && lastInvariants != result
        lastInvariants = result
        guard schedule.shouldEmit(violations: result.violations, now: MonotonicClock.nowNanos()) else { return }
        log.emit(
            .identityInvariantsStatus,
            [
                "pass": .bool(result.pass), "violations": .strings(result.violations), "canonical_instrument": .string(canonical),
                "execution_instrument": .string(execution), "stream_ids": .strings(invariants.streamIDs),
                "checked_at_utc": .string(UTCTimestamp.now()),
            ])
        if changed {
            note(
                "\(canonical): identity invariants \(result.pass ? "pass again" : "violated: " + result.violations.joined(separator: "; "))",
                event: EventType.identityInvariantsStatus.rawValue, result.pass ? .notice : .error)
            sendStatus()
        }
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
            ["source": .string(fresh.source), "execution_instrument": .string(execution), "stream_ids": .strings(newSpec.streams.map(\.id))])
        note("\(canonical): configuration reloaded from \(fresh.source)", event: EventType.configReloaded.rawValue)
        checkInvariants()
    }

    private func rejectReload(_ reason: String) {
        log.emit(.configReloadFailed, ["error": .string(reason), "kept": .strings(spec.streams.map(\.id))])
        note("\(canonical): reload refused, running configuration kept: \(reason)", event: EventType.configReloadFailed.rawValue, .error)
    }

    private func stop() {
        SdNotify.send("STOPPING=1")
        engine.writeSnapshot()
        let heldSeconds = uptimeSeconds
        log.emit(.lockReleased, ["lock_file": .string(lock.path), "fence": .int(lock.record.fence), "held_seconds": .double(heldSeconds)])
        link?.flushBeforeExit(timeoutSeconds: 0.5)
        do { try lock.release() } catch {
            note("\(lock.path): release: \(error) (the kernel releases the lock at exit)", event: "LOCK_RELEASE_FAILED", .warning)
        }
        note("\(canonical): lock released, stopping", event: EventType.lockReleased.rawValue)
        reactor.stop()
    }

    // MARK: helpers

    private var uptimeSeconds: Double { Double(MonotonicClock.nowNanos() - startedAt) / 1e9 }

    private func sendStatus() {
        let identity = (lastInvariants?.pass ?? true) ? "identity OK" : "IDENTITY VIOLATION"
        let mode = engine.map { $0.mode.rawValue } ?? "starting"
        SdNotify.send(
            SdNotify.statusLine("\(canonical) (\(execution)): lock held, fence \(lock.record.fence), \(identity), \(mode), run \(log.runID)"))
    }

    private func selfTestData() -> JSONObject {
        var mappings = JSONObject()
        for (k, v) in config.instrumentMap.executionToCanonical.sorted(by: { $0.key < $1.key }) { mappings[k] = .string(v) }
        return [
            "requested_symbol": .string(options.symbol), "canonical_instrument": .string(canonical),
            "execution_instrument": .string(execution), "instrument_mappings": .object(mappings),
            "canonical_stream_ids": .strings(spec.streams.map(\.id)),
        ]
    }

    static func staleData(_ previous: PreviousHolder, lockFile: String) -> JSONObject {
        switch previous {
        case .crashed(let r):
            let age = UTCTimestamp.parse(r.acquiredAtUTC).map { Double(UTCTimestamp.nowMicros() - $0) / 1e6 }
            return [
                "lock_file": .string(lockFile), "holder_known": true, "stale_run_id": .string(r.runID), "stale_pid": .int(Int64(r.pid)),
                "stale_host": .string(r.host), "stale_fence": .int(r.fence), "stale_acquired_at_utc": .string(r.acquiredAtUTC),
                "record_age_seconds": age.map { .double($0) } ?? .null,
            ]
        case .unknown(let n):
            return [
                "lock_file": .string(lockFile), "holder_known": false, "stale_run_id": .null, "record_bytes": .int(Int64(n)),
                "reason": .string("the lock file held \(n) bytes that are not a holder record; the kernel says nobody holds the lock"),
            ]
        }
    }

    static func alreadyActiveData(_ holder: MarketHolder, lockFile: String, symbol: String) -> JSONObject {
        let r = holder.record
        return [
            "lock_file": .string(lockFile), "requested_symbol": .string(symbol), "holder_known": .bool(r != nil),
            "holder_run_id": .optional(r?.runID), "holder_pid": r.map { .int(Int64($0.pid)) } ?? .null,
            "holder_host": .optional(r?.host), "holder_fence": r.map { .int($0.fence) } ?? .null,
            "holder_acquired_at_utc": r.map { $0.acquiredAtUTC.isEmpty ? .null : .string($0.acquiredAtUTC) } ?? .null,
            "kernel_pids": .array(holder.kernelPIDs.map { .int(Int64($0)) }), "detail": .string(holder.detail),
        ]
    }

    static func makeRunID(_ canonical: String) -> String {
        let stamp = UTCTimestamp.now().prefix(19).filter { $0 != "-" && $0 != ":" }
        let random = String(UInt32.random(in: .min ... .max), radix: 16)
        return "\(canonical)-\(stamp)Z-\(String(repeating: "0", count: 8 - random.count))\(random)"
    }

    static func residentBytes() -> Int64 {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        let fields = buffer[0..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int64(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// One line about a change of this worker's state, with its market, run and fence, and `event`
    /// naming the change (the journal's `EVENT=` field).
    private func note(_ message: String, event: String, _ level: Logger.Level = .info) {
        logger.log(level: level, "\(message)", metadata: ["event": "\(event)"])
    }

    /// A line from outside a running worker (start-up failures, the engine's snapshot errors).
    static func note(_ message: String, _ level: Logger.Level = .error, _ metadata: Logger.Metadata = [:]) {
        Logger(label: "robot-worker").log(level: level, "\(message)", metadata: metadata)
    }

    private static func fail(_ status: ExitStatus, _ message: String, _ metadata: Logger.Metadata = [:]) -> ExitStatus {
        var metadata = metadata
        if metadata["event"] == nil { metadata["event"] = "WORKER_START_FAILED" }
        note(message, .error, metadata)
        return status
    }
}
