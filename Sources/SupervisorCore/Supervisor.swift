import Logging
import Observability
import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `supervisor run`: one worker per configured market, restarted by the `MarketSupervisor` state
/// machines, controlled over the control socket (`ControlServer`), reporting to systemd through
/// sd_notify. `SupervisorStartup` makes it.
///
/// The shell around the pure machines, on one reactor thread (the main thread): it spawns workers,
/// learns their deaths from pidfds (and SIGCHLD, defensively), reads their sd_notify datagrams,
/// fires each market's next deadline from a reactor timer, and answers control requests.
/// `run` returns the exit status (`SupervisorExitStatus`).
public final class Supervisor {
    /// One market's machine and what the shell holds for it.
    final class Slot {
        var machine: MarketSupervisor
        var process: WorkerProcess?
        var timer: Reactor.TimerID?
        /// Removed from the configuration by a reload: dropped once STOPPED.
        var removing = false
        /// The machine's stop intent when `apply` last looked: a change to a timeout is counted once.
        var seenIntent: MarketSupervisor.StopIntent?

        init(machine: MarketSupervisor) { self.machine = machine }
    }

    let options: SupervisorOptions
    let reactor: Reactor
    var config: Configuration
    let control: ControlServer
    let notify: NotifySocket
    /// The single-instance flock, held for the supervisor's life (released by the kernel at its exit).
    private let instanceLock: InstanceLock
    var slots: [String: Slot] = [:]
    /// The paper venue's slot when the supervisor runs it (`VenueChild`), and its order against the markets.
    var venue: Slot?
    var venueOrder: VenueChild
    var pidMarkets: [Int32: String] = [:]
    var upstreamReady = false
    private var upstreamStatus = ""
    var shuttingDown = false
    private(set) var unknownNotifyDatagrams = 0
    /// Markets an operator stopped -> the UTC time of the stop (`OperatorStops`, durable).
    var stoppedByOperator: [String: String] = [:]
    var operatorStops: OperatorStops { OperatorStops(stateDir: config.paths.stateDir) }
    let selfPid = getpid()
    let workerDirectory: String
    /// The registry, process metrics and `/metrics` server of the supervisor.
    private let endpoint = MetricsEndpoint()
    let metrics: SupervisorMetrics
    /// Lines about the supervisor and its markets (`ProcessLog`: message, market, event).
    let log = Supervisor.startLog
    /// The same log, before there is a supervisor.
    static let startLog = ProcessLog("supervisor", failureEvent: "SUPERVISOR_START_FAILED")

    init(_ ready: SupervisorStartup.Ready) {
        self.options = ready.options
        self.reactor = ready.reactor
        self.config = ready.config
        self.control = ready.control
        self.notify = ready.notify
        self.instanceLock = ready.instanceLock
        self.workerDirectory = FileIO.executableDirectory()
        self.metrics = SupervisorMetrics(registry: endpoint.registry)
        self.venueOrder = VenueChild(supervised: ready.config.venue.supervisedBySupervisor)
        control.supervisor = self
    }

    func serve() -> SupervisorExitStatus {
        do {
            try reactor.onSignals([SIGTERM, SIGINT, SIGHUP, SIGCHLD]) { [unowned self] signal in
                switch signal {
                case SIGCHLD: self.reapAny()
                case SIGHUP: _ = self.reload(requestedBy: "SIGHUP")
                default: self.shutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT")
                }
            }
        } catch {
            return Self.startLog.fail(.osError, "\(error)")
        }
        reactor.watch(notify.fd) { [unowned self] _ in self.readNotifications() }
        control.start()
        log.note(
            "pid \(selfPid): supervising \(config.marketNames.joined(separator: ", ")) from \(config.source); "
                + "control socket \(control.path), notify socket \(notify.path)", event: "SUPERVISOR_STARTED")
        // After the single-instance guard: a refused second supervisor never takes the port.
        if let port = config.metrics.supervisorPort { endpoint.serve(host: config.metrics.host, port: port, logger: log.logger) }
        ProcessShell.pingWatchdog(on: reactor)
        stoppedByOperator = operatorStops.load(config.marketNames)
        for market in config.marketNames { makeSlot(market, settings: config.supervisor) }
        startChildren()
        reactor.run()
        endpoint.shutdown()
        control.close()
        notify.unlinkPath()
        log.note("every child has ended; exiting", event: "SUPERVISOR_STOPPED")
        return .ok
    }

    // MARK: carrying out the machines' actions

    /// Carries out `actions` of `market`'s machine, then reschedules its deadline and answers
    /// whatever the change settles.
    func apply(_ market: String, _ actions: [SupervisorAction]) {
        if market == VenueChild.name { return applyVenue(actions) }
        guard let slot = slots[market] else { return }
        countTimeouts(slot)
        for action in actions {
            switch action {
            case .spawn: spawn(slot)
            case .signalWorker(let s): slot.process?.signal(s)
            case .signalGroup(let s): slot.process?.signalGroup(s)
            case .log(let line): log.note(line, market: market, event: "MARKET_" + slot.machine.state.rawValue)
            case .alert(let line): log.note("ALERT: " + line, market: market, event: "MARKET_ALERT", .critical)
            }
        }
        metrics.state(market: market, slot.machine.state.rawValue)
        reschedule(slot)
        if slot.removing, slot.machine.state == .stopped, slot.process == nil {
            if let t = slot.timer { reactor.cancel(t) }
            slots[market] = nil
            log.note("\(market): removed (no longer in the configuration)", market: market, event: "MARKET_REMOVED")
        }
        control.checkWaiters()
        updateUpstream()
        finishShutdownIfDone()
    }

    private func spawn(_ slot: Slot) {
        let market = slot.machine.market
        let launch = WorkerLaunch(
            market: market, config: config, configFile: config.absoluteSourcePath, workerDirectory: workerDirectory,
            notifySocket: notify.path, supervisorPid: selfPid, inherited: options.environment)
        do {
            let process = try WorkerProcess.spawn(argv: launch.argv, environment: launch.environment)
            slot.process = process
            pidMarkets[process.pid] = market
            if process.pidfd >= 0 {
                reactor.watch(process.pidfd) { [unowned self, unowned process] _ in
                    if let exit = process.reap() { self.childExited(pid: process.pid, exit) }
                }
            }
            apply(market, slot.machine.spawned(pid: process.pid, now: now()))
        } catch {
            let restarts = slot.machine.restarts
            apply(market, slot.machine.spawnFailed("\(error)", now: now()))
            if slot.machine.restarts > restarts { countRestart(market, .spawnFailed) }
        }
    }

    /// A new market's slot, its metrics registered at 0.
    @discardableResult
    func makeSlot(_ market: String, settings: SupervisorSettings) -> Slot {
        let slot = Slot(machine: MarketSupervisor(market: market, settings: settings))
        slots[market] = slot
        metrics.register(market: market)
        metrics.state(market: market, slot.machine.state.rawValue)
        return slot
    }

    /// Counts a readiness or watchdog timeout the first time `apply` sees the machine end a worker for it.
    func countTimeouts(_ slot: Slot) {
        let intent = slot.machine.stopIntent
        guard intent != slot.seenIntent else { return }
        slot.seenIntent = intent
        switch intent {
        case _ where slot === venue: break // the venue's are counted with its restarts, by cause
        case .watchdog?: metrics.watchdogTimeout(market: slot.machine.market)
        case .startTimeout?: metrics.readinessTimeout(market: slot.machine.market)
        default: break
        }
    }

    /// SIGCHLD: reaps every child that has exited (the pidfds usually got there first).
    private func reapAny() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            childExited(pid: pid, WorkerExit(waitStatus: status))
        }
    }

    func childExited(pid: Int32, _ exit: WorkerExit) {
        guard let market = pidMarkets.removeValue(forKey: pid), let slot = slot(named: market), let process = slot.process,
            process.pid == pid
        else { return }
        if process.pidfd >= 0 { reactor.unwatch(process.pidfd) }
        process.closePidfd()
        slot.process = nil
        let cause: SupervisorMetrics.RestartCause
        switch slot.machine.stopIntent {
        case .watchdog?: cause = .watchdogTimeout
        case .startTimeout?: cause = .startTimeout
        default: cause = exit.signal != nil ? .signal : .exit
        }
        let restarts = slot.machine.restarts
        apply(market, slot.machine.exited(exit, now: now()))
        if slot.machine.restarts > restarts { countRestart(market, cause) }
    }

    func reschedule(_ slot: Slot) {
        if let t = slot.timer { reactor.cancel(t) }
        slot.timer = nil
        guard let deadline = slot.machine.nextDeadline else { return }
        let market = slot.machine.market
        slot.timer = reactor.schedule(afterNanos: Int64((deadline - now()) * 1e9) + 1000) { [unowned self, weak slot] in
            guard let slot, self.slot(named: market) === slot else { return }
            slot.timer = nil
            self.apply(market, slot.machine.tick(now: self.now()))
        }
    }

    // MARK: notifications from workers

    private func readNotifications() {
        for (pid, message) in notify.receiveAll() {
            guard let market = market(ofSender: pid), let slot = slot(named: market) else {
                unknownNotifyDatagrams += 1
                if unknownNotifyDatagrams <= 10 || unknownNotifyDatagrams.nonzeroBitCount == 1 {
                    log.note(
                        "notify datagram from pid \(pid), which is none of the workers; ignored (\(unknownNotifyDatagrams) so far)",
                        event: "NOTIFY_FROM_STRANGER", .warning)
                }
                continue
            }
            apply(market, slot.machine.notify(message, now: now()))
        }
    }

    /// The market whose worker sent a datagram: the worker's pid, or a process in its process group.
    private func market(ofSender pid: Int32) -> String? {
        guard pid > 0 else { return nil }
        if let m = pidMarkets[pid] { return m }
        let group = getpgid(pid)
        return group > 0 ? pidMarkets[group] : nil
    }

    // MARK: signals

    private func shutdown(_ why: String) {
        guard !shuttingDown else {
            log.note("\(why) again: still waiting for the children to end", event: "SUPERVISOR_STOPPING")
            return
        }
        shuttingDown = true
        log.note("\(why): stopping every worker", event: "SUPERVISOR_STOPPING")
        SdNotify.send("STOPPING=1")
        for market in slots.keys.sorted() {
            if let slot = slots[market] { apply(market, slot.machine.stop(now: now())) }
        }
        finishShutdownIfDone()
    }

    /// Re-reads the configuration: starts added markets, stops removed ones, leaves the others
    /// alone (new supervisor settings apply to them from their next deadline). A configuration
    /// that does not load is refused and the running one kept.
    func reload(requestedBy who: String) -> ReloadOutcome {
        guard !shuttingDown else { return .ignored }
        let fresh: Configuration
        do {
            fresh = try options.load()
        } catch {
            log.note("\(who): reload refused, running configuration kept: \(error)", event: "RELOAD_FAILED", .error)
            return .refused("\(error)")
        }
        if fresh.paths.socketDir != config.paths.socketDir {
            log.note(
                "\(who): paths.socket_dir changed to \(fresh.paths.socketDir); it takes effect when the supervisor restarts",
                event: "RELOADED",
                .warning)
        }
        let kept = Set(slots.filter { !$0.value.removing }.keys)
        let wanted = Set(fresh.markets.keys)
        let added = wanted.subtracting(kept).sorted()
        let removed = kept.subtracting(wanted).sorted()
        reloadVenue(fresh, requestedBy: who)
        config = fresh
        for slot in slots.values { slot.machine.update(settings: fresh.supervisor) }
        let list = ControlServer.list
        log.note(
            "\(who): configuration reloaded from \(fresh.source); added: \(list(added)), removed: \(list(removed)), "
                + "unchanged: \(list(kept.intersection(wanted).sorted()))", event: "RELOADED")
        for market in removed {
            guard let slot = slots[market] else { continue }
            slot.removing = true
            apply(market, slot.machine.stop(now: now()))
        }
        for market in added {
            let slot: Slot
            if let existing = slots[market] {
                existing.removing = false
                slot = existing
            } else {
                slot = makeSlot(market, settings: fresh.supervisor)
            }
            if let since = operatorStops.load([market])[market] {
                stoppedByOperator[market] = since
                log.note(
                    "\(market): added, but stays stopped: stopped by an operator since \(since)", market: market,
                    event: "MARKET_STAYS_STOPPED")
                continue
            }
            apply(market, slot.machine.start(now: now(), byOperator: false))
        }
        return .reloaded(added: added, removed: removed, settings: fresh.supervisor)
    }

    // MARK: systemd

    /// READY=1 once the venue (when supervised) and every market are settled (RUNNING, BLOCKED, FATAL or STOPPED); STATUS= on every change.
    func updateUpstream() {
        let text = summary()
        if !upstreamReady, !shuttingDown, venueOrder.marketsStarted, venue?.machine.state.isSettled ?? true,
            slots.values.allSatisfy({ $0.machine.state.isSettled })
        {
            upstreamReady = true
            upstreamStatus = text
            log.note("every market is settled (\(text)); READY=1", event: "SUPERVISOR_READY")
            SdNotify.send("READY=1\n" + SdNotify.statusLine(text))
            return
        }
        if text != upstreamStatus {
            upstreamStatus = text
            SdNotify.send(SdNotify.statusLine(text))
        }
    }

    /// `3/3 running`, or `2/3 running; CL FATAL`.
    func summary() -> String {
        let names = slots.keys.sorted()
        let running = names.filter { slots[$0]?.machine.state == .running }
        var text = "\(running.count)/\(names.count) running"
        let others = names.filter { slots[$0]?.machine.state != .running }.map { "\($0) \(slots[$0]!.machine.state.rawValue)" }
        if !others.isEmpty { text += "; " + others.joined(separator: ", ") }
        if let v = venue?.machine.state, v != .running { text += "; \(VenueChild.name) \(v.rawValue)" }
        return text
    }

    // MARK: helpers

    func now() -> Double { Double(MonotonicClock.nowNanos()) / 1e9 }

}
