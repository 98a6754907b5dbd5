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

/// `robot-worker run`'s start-up, one step after another (docs/robot-worker.md): each step takes
/// what the earlier ones made, and the running `Worker` is made only from a complete `Worker.Parts`,
/// so nothing in it is filled in later.
///
/// ```
///  process ─▶ market ─▶ folders and journal ─▶ lock ─▶ records (repair, checks, quarantine)
///          ─▶ watchdog link ─▶ lock events, self-test, identity ─▶ engine ─▶ control socket ─▶ Worker
/// ```
/// A step that fails before the lock is held ends the process with its exit status and one line.
enum WorkerStartup {
    typealias Failure = StartupFailure<ExitStatus>

    /// The market this run serves, as the command line named it.
    struct Market {
        var market: CanonicalMarket
        var canonical: String { market.name }
        /// The symbol as given, normalized: the execution instrument when it is not the canonical one.
        var normalized: String
        var spec: MarketSpec
    }

    /// What the steps up to the lock made.
    struct Locked {
        var options: WorkerOptions
        var reactor: Reactor
        var config: Configuration
        var market: Market
        var journal: Journal
        var log: EventLog
        var lock: any HeldMarketGuard
        var previous: PreviousHolder?
        /// The lease across hosts (`guard.backend: postgresql`), connected; nil under the local guard.
        var lease: WorkerLease.Prepared?
    }

    /// Every step; the worker it makes runs until it stops.
    static func run(_ options: WorkerOptions) -> ExitStatus {
        let locked = lock(options) // first: it bootstraps logging
        return Worker.log.run(locked) { Worker(open($0)).serve() }
    }

    // MARK: up to the lock

    static func lock(_ options: WorkerOptions) -> Result<Locked, Failure> {
        let reactor: Reactor
        do {
            // Signals blocked from the first moment: a SIGTERM during start-up waits for the loop.
            reactor = try ProcessShell.begin(
                identifier: "robot-worker", environment: options.environment, signals: [SIGTERM, SIGINT, SIGHUP])
        } catch {
            return .failure(Failure(.osError, "\(error)"))
        }
        if let problem = SupervisorParent.askForTerminationOnParentDeath(environment: options.environment) {
            return .failure(Failure(.parentGone, problem))
        }
        let config: Configuration
        do {
            config = try options.location.load()
        } catch {
            return .failure(Failure(.config, "\(error)"))
        }
        let market: Market
        switch resolve(options.symbol, in: config) {
        case .success(let m): market = m
        case .failure(let failure): return .failure(failure)
        }
        let canonical = market.canonical
        let paths = config.paths
        for dir in [paths.lockDir, paths.marketStateDir(market.market)] {
            do { try Directories.make(dir) } catch {
                return .failure(Failure(.cannotCreate, "\(dir): cannot create the folder: \(error)"))
            }
        }
        let journal: Journal
        do { journal = try Journal(path: paths.journal(market.market)) } catch {
            return .failure(Failure(.cannotCreate, "\(paths.journal(market.market)): cannot open the journal: \(error)"))
        }
        let runID = makeRunID(canonical)
        let log = EventLog(market: canonical, runID: runID, pid: getpid(), journal: journal)
        let marketGuard: any MarketGuard
        switch WorkerGuard.make(config: config, environment: options.environment) {
        case .success(let g): marketGuard = g
        case .failure(let failure): return .failure(failure)
        }
        let outcome: MarketGuardOutcome
        do {
            outcome = try marketGuard.acquire(account: config.account, market.market, runID: runID, host: WorkerLease.hostIdentity(config))
        } catch {
            return .failure(WorkerGuard.failure(error))
        }
        switch outcome {
        case .alreadyActive(let holder):
            if let refusal = log.emit(
                .alreadyActive, alreadyActiveData(holder, lockFile: marketGuard.place(of: market.market), symbol: options.symbol))
            {
                WatchdogLink.deliverOnce([refusal], socketPath: paths.watchdogSocket)
            }
            let who =
                holder.record.map {
                    "run \($0.runID) (pid \($0.pid) on \($0.host)\($0.home.map { ", home \($0)" } ?? ""), fence \($0.fence))"
                }
                ?? "an unknown holder"
            SdNotify.send(SdNotify.statusLine("\(canonical): refused, lock held by \(who)"))
            return .failure(
                Failure(
                    .alreadyActive,
                    "\(canonical): another executor holds \(marketGuard.place(of: market.market)): \(who); \(holder.detail)",
                    metadata: ["market": "\(canonical)", "run_id": "\(runID)", "event": "\(EventType.alreadyActive.rawValue)"]))
        case .acquired(let lock, let previous):
            log.fence = lock.record.fence
            let lease: WorkerLease.Prepared?
            switch WorkerLease.prepare(config: config, environment: options.environment, market: canonical, runID: runID) {
            case .success(let prepared): lease = prepared
            case .failure(let failure):
                try? lock.release()
                return .failure(failure)
            }
            return .success(
                Locked(
                    options: options, reactor: reactor, config: config, market: market, journal: journal, log: log, lock: lock,
                    previous: previous, lease: lease))
        }
    }

    /// The market the command line names, canonical or execution instrument, as configured.
    static func resolve(_ symbol: String, in config: Configuration) -> Result<Market, Failure> {
        let market: CanonicalMarket
        let normalized: String
        do {
            market = try config.instrumentMap.canonical(of: symbol)
            normalized = try config.instrumentMap.normalized(symbol)
        } catch {
            return .failure(Failure(.config, "--market: \(error)"))
        }
        let canonical = market.name
        guard let spec = config.markets[canonical] else {
            let via = canonical == normalized ? "" : " (canonical \(canonical))"
            return .failure(
                Failure(
                    .config,
                    "\(config.source): markets: no market \(normalized)\(via) is configured; configured: "
                        + config.marketNames.joined(separator: ", ")))
        }
        return .success(Market(market: market, normalized: normalized, spec: spec))
    }

    // MARK: from the lock to a running worker

    /// With the lock held nothing fails the start any more: damage is reported, moved aside and
    /// latched, and the worker runs.
    static func open(_ locked: Locked) -> Worker.Parts {
        let startedAt = MonotonicClock.nowNanos()
        let (config, log, lock, journal, reactor) = (locked.config, locked.log, locked.lock, locked.journal, locked.reactor)
        let canonical = locked.market.canonical
        let spec = locked.market.spec
        let execution = locked.market.normalized == canonical ? spec.execution : locked.market.normalized
        let endpoint = MetricsEndpoint()
        let metrics = WorkerMetrics(registry: endpoint.registry, market: canonical)
        log.metrics = metrics
        let diagnostics = ProcessLog(
            "robot-worker", metadata: ["market": "\(canonical)", "run_id": "\(log.runID)", "fence": "\(lock.record.fence)"],
            failureEvent: Worker.log.failureEvent)
        let note = { (message: String, event: String, level: Logger.Level) in diagnostics.note(message, event: event, level) }
        let paths = config.paths

        // The records: a torn tail cut, the startup checks over the bytes read once.
        var cut = 0
        do {
            cut = try journal.repairTornTail()
            if cut > 0 { note("\(journal.path): cut a torn last line of \(cut) bytes left by a crash", "JOURNAL_REPAIRED", .warning) }
        } catch {
            note("\(journal.path): cannot repair the journal: \(error)", "JOURNAL_REPAIR_FAILED", .error)
        }
        let snapshotPath = paths.snapshot(locked.market.market)
        let snapshotBytes: [UInt8]? = (try? FileIO.readFile(snapshotPath)) ?? nil
        // One streamed pass (JournalScan): the verified prefix by checksum, the rest line by line.
        let scan = JournalScan.run(journalPath: journal.path, identity: journal.identity, tornBytes: cut, deferSegments: true)
        if scan.checkedBytes >= 1 << 20 { note("\(journal.path): \(scan.summary)", "JOURNAL_SCANNED", .info) }
        let snapshotResults = StartupChecks.checkSnapshot(snapshotBytes)
        let checks = [scan.check, snapshotResults.snapshot, snapshotResults.mode, FeedSource.probe(spec.feed)]
        // Fence memory beyond the lock folder: a fence the journal or snapshot already knows (the
        // lock folder was wiped or restored) is raised above it before the hello names it.
        let memory = FenceMemory(journal: scan.state, snapshot: snapshotBytes.flatMap { try? WorkerSnapshot.decode($0).get() })
        let handedOut = lock.record.fence
        var raiseFailure: String?
        if memory.highestFence >= handedOut {
            do { try GateKeeper.raise(lock: lock, log: log, to: memory.highestFence + 1) } catch { raiseFailure = "\(error)" }
        }
        // Attached before a damaged journal is moved aside, so earlier runs' undelivered events are
        // still offered to the watchdog (which de-duplicates and counts gaps): the backlog reads the
        // files the scan opened. Its callbacks are the running worker's (set when it is made; none
        // runs before the loop does).
        let damaged = !scan.check.passed
        let keeper = damaged ? nil : VerifiedPrefixKeeper.starting(journal: journal, scan: scan)
        let link = WatchdogLink.attach(reactor: reactor, config: config, log: log, journal: journal, scan: scan, keeper: keeper) {}
        let unrecoverable = quarantineDamaged(checks, journal: journal, snapshotPath: snapshotPath, runID: log.runID, note: note)
        if damaged, unrecoverable == nil { link.follow(VerifiedPrefixKeeper.afterQuarantine(journal: journal, scan: scan)) }
        // The sealed segments' checksums, after READY (SegmentAudit): the re-offer holds until each is confirmed.
        if !damaged, !scan.deferred.isEmpty { link.hold(for: SegmentAudit(scan: scan)) }
        // The journal's accepted orders the snapshot lacks join it (the snapshot lags the journal).
        let restored = memory.restoring(snapshotBytes.flatMap { try? WorkerSnapshot.decode($0).get() })

        // The lock, the self-test and the first identity check, journaled.
        if let previous = locked.previous {
            log.emit(.lockStale, staleData(previous, lockFile: lock.path))
        }
        log.emit(
            .lockAcquired,
            [
                "lock_file": .string(lock.path), "fence": .int(lock.record.fence), "acquired_at_utc": .string(lock.record.acquiredAtUTC),
                "host": .string(lock.record.host), "execution_instrument": .string(execution),
            ])
        note(
            "\(canonical): lock \(lock.path) acquired, fence \(lock.record.fence), run \(log.runID), configuration \(config.source)",
            EventType.lockAcquired.rawValue, .info)
        if log.fence > handedOut {
            GateKeeper.journalRaise(log: log, lock: lock, from: handedOut, source: "journal", highWater: memory.highestFence, note: note)
        }
        if let port = config.metrics.workerPorts[canonical] {
            endpoint.serve(host: config.metrics.host, port: port, logger: diagnostics.logger)
        }
        log.emit(
            .canonicalizationSelfTest,
            selfTestData(config: config, symbol: locked.options.symbol, canonical: canonical, execution: execution, spec: spec))
        var identity = IdentityWatch(intervalSeconds: config.timings.invariantsInterval)
        if let event = identity.check(canonical: canonical, execution: execution, streams: spec.streams, now: MonotonicClock.nowNanos())
            .event
        {
            log.emit(.identityInvariantsStatus, event)
        }

        // The engine settles the first mode.
        let engine = Engine(
            market: canonical, symbol: execution, streams: spec.streams.map(\.id), log: log, settings: config.safety,
            snapshotPath: snapshotPath, restored: restored,
            venue: config.venue.kind(of: canonical) == .paper
                ? PaperVenueClient.make(reactor: reactor, config: config, market: canonical, runID: log.runID) : nil,
            capital: config.venue.capital, reconcileInterval: config.venue.reconcileIntervalSeconds,
            referencePrice: spec.feed.referencePrice, now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.remember(usedOrderIDs: memory.usedOrderIDs)
        engine.desk.remember(filledOrderIDs: memory.filledOrderIDs)
        engine.desk.remember(unanswered: memory.unanswered)
        engine.desk.remember(acceptedAt: memory.acceptedAt)
        engine.desk.metrics = LedgerMetrics(registry: endpoint.registry, market: canonical)
        if let raiseFailure {
            engine.gate.fence = .regressed(fence: handedOut, highWater: memory.highestFence, why: raiseFailure)
        } else if link.awaitingWelcome {
            engine.gate.fence = .awaitingWatchdog
        }
        let lease = locked.lease.map { prepared in
            LeaseKeeper(
                client: prepared.client, unreachableAtStart: prepared.unreachable, reactor: reactor, engine: engine, log: log, lock: lock,
                metrics: LeaseMetrics(registry: endpoint.registry, market: canonical), note: note,
                rerunChecks: { rerunChecks(journal: journal, keeper: link.keeper, snapshotPath: snapshotPath, feed: spec.feed) })
        }
        engine.start(checks: checks)
        let gates = GateKeeper(engine: engine, log: log, lock: lock, streams: spec.streams.map(\.id), note: note)
        if !config.safety.identityGatesOrders {
            note(
                "\(canonical): identity gates orders: off (safety.identity_gates_orders is false): a stream that violates an identity invariant keeps trading",
                "ORDER_GATE_CONFIG", .warning)
        }
        gates.identity(IdentityInvariants(canonical: canonical, execution: execution, streams: spec.streams))
        // A damaged journal that cannot be moved aside leaves the records inconsistent: latch SHUTDOWN.
        if let unrecoverable { engine.unrecoverable(unrecoverable) }
        metrics.failsafeLatched(engine.latch != nil)
        if config.safety.tradeWithoutWatchdog {
            note(
                "\(canonical): safety.trade_without_watchdog is true in \(config.source): this worker keeps trading when no watchdog answers",
                "TRADING_WITHOUT_WATCHDOG", .warning)
        }
        if engine.mode != .aggressive {
            note(
                "\(canonical): starting in \(engine.mode.rawValue): \(engine.modeReason)", EventType.systemModeChange.rawValue,
                .warning)
        }

        // Orders come in through the control socket.
        var control: WorkerControl?
        do {
            try Directories.make(paths.socketDir)
            control = try WorkerControl(path: paths.workerSocket(locked.market.market), engine: engine, reactor: reactor)
        } catch {
            note(
                "\(paths.workerSocket(locked.market.market)): no control socket, orders cannot be placed: \(error)",
                "CONTROL_SOCKET_UNAVAILABLE", .error)
        }
        return Worker.Parts(
            options: locked.options, reactor: reactor, config: config, canonical: canonical, spec: spec,
            executionOverride: locked.market.normalized == canonical ? nil : locked.market.normalized, log: log, lock: lock,
            identity: identity, startedAt: startedAt, engine: engine, gates: gates, link: link, control: control, endpoint: endpoint,
            metrics: metrics,
            diagnostics: diagnostics, lease: lease)
    }

    /// A journal or snapshot that failed its check is moved aside (kept for the operator) so the
    /// worker starts on clean files; the failure itself is reported by `STARTUP_CHECKS` and latched.
    /// Returns why, when a damaged journal cannot be moved aside (an unrecoverable error).
    private static func quarantineDamaged(
        _ checks: [StartupChecks.Result], journal: Journal, snapshotPath: String, runID: String,
        note: (String, String, Logger.Level) -> Void
    ) -> String? {
        for check in checks where !check.passed {
            switch check.name {
            case StartupChecks.eventLogIntegrity:
                do {
                    // Sealed segments are part of the damaged journal: they go aside with it.
                    for segment in JournalSegments(journalPath: journal.path).list() {
                        _ = rename(segment, segment + ".damaged-" + runID)
                    }
                    let aside = try journal.quarantine(suffix: runID)
                    note("\(journal.path): damaged (\(check.detail)); moved to \(aside)", "JOURNAL_QUARANTINED", .error)
                } catch {
                    note("\(journal.path): damaged and cannot be moved aside: \(error)", "JOURNAL_QUARANTINE_FAILED", .error)
                    return "\(journal.path) is damaged (\(check.detail)) and cannot be moved aside: \(error)"
                }
            case StartupChecks.snapshotConsistency:
                let aside = snapshotPath + ".damaged-" + runID
                if rename(snapshotPath, aside) == 0 {
                    note("\(snapshotPath): damaged (\(check.detail)); moved to \(aside)", "SNAPSHOT_QUARANTINED", .error)
                }
            default: break
            }
        }
        return nil
    }

    // MARK: event data

    static func selfTestData(config: Configuration, symbol: String, canonical: String, execution: String, spec: MarketSpec) -> JSONObject {
        var mappings = JSONObject()
        for (k, v) in config.instrumentMap.executionToCanonical.sorted(by: { $0.key < $1.key }) { mappings[k] = .string(v) }
        return [
            "requested_symbol": .string(symbol), "canonical_instrument": .string(canonical),
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
}
