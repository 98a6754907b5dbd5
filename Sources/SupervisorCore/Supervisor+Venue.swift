import Observability
import Platform
import RobotConfig

#if canImport(Glibc)
import Glibc
#endif

/// The shell of the paper venue as a supervised child (`VenueChild` decides; docs/supervisor.md,
/// "The paper venue"): its slot runs the workers' machine (`MarketSupervisor`), so it gets the same
/// readiness and watchdog deadlines, restart policy and stop grace; it is spawned tied to the
/// supervisor (PR_SET_PDEATHSIG), started before the markets and stopped after the last worker.
extension Supervisor {
    /// A market's slot, or the venue's.
    func slot(named name: String) -> Slot? { name == VenueChild.name ? venue : slots[name] }

    /// At `serve`: the venue first when the supervisor runs it, the markets once it has left STARTING.
    func startChildren() {
        guard config.venue.supervisedBySupervisor else {
            if config.venue.usesPaper {
                log.note(
                    "venue.supervised is false: the paper venue at \(config.venue.socket) is run elsewhere (its own unit, another host)",
                    event: "VENUE_NOT_SUPERVISED")
            }
            return startMarkets()
        }
        let slot = Slot(machine: MarketSupervisor(market: VenueChild.name, settings: config.supervisor))
        venue = slot
        metrics.registerVenue()
        log.note("starting the paper venue (\(config.venue.socket)) before the markets", event: "VENUE_STARTING")
        applyVenue(slot.machine.start(now: now(), byOperator: false))
    }

    /// Starts every market not stopped by an operator.
    func startMarkets() {
        for market in config.marketNames {
            guard let slot = slots[market] else { continue }
            if let since = stoppedByOperator[market] {
                log.note(
                    "\(market): stays stopped, stopped by an operator since \(since) (supervisor start \(market) runs it)", market: market,
                    event: "MARKET_STAYS_STOPPED")
                continue
            }
            apply(market, slot.machine.start(now: now(), byOperator: false))
        }
    }

    /// Carries out the venue machine's actions, then what its change allows: the markets' start,
    /// the end of a shutdown.
    func applyVenue(_ actions: [SupervisorAction]) {
        guard let slot = venue else { return }
        countTimeouts(slot)
        for action in actions {
            switch action {
            case .spawn: spawnVenue(slot)
            case .signalWorker(let s): slot.process?.signal(s)
            case .signalGroup(let s): slot.process?.signalGroup(s)
            case .log(let line): log.note(line, event: "VENUE_" + slot.machine.state.rawValue)
            case .alert(let line): log.note("ALERT: " + line, event: "VENUE_ALERT", .critical)
            }
        }
        metrics.venueState(slot.machine.state.rawValue)
        reschedule(slot)
        if venueOrder.startMarkets(venue: slot.machine.state, shuttingDown: shuttingDown) {
            let state = slot.machine.state
            log.note(
                "the paper venue is \(state.rawValue); starting the markets"
                    + (state == .running ? "" : " (their workers hold OBSERVE_ONLY until it answers)"), event: "VENUE_MARKETS_STARTING")
            startMarkets()
        }
        control.checkWaiters()
        updateUpstream()
        finishShutdownIfDone()
    }

    private func spawnVenue(_ slot: Slot) {
        let launch = VenueChild.launch(
            config: config, configFile: config.absoluteSourcePath, directory: workerDirectory, notifySocket: notify.path,
            supervisorPid: selfPid, inherited: options.environment)
        do {
            let process = try WorkerProcess.spawnTied(argv: launch.argv, environment: launch.environment, deathSignal: SIGTERM)
            slot.process = process
            pidMarkets[process.pid] = VenueChild.name
            if process.pidfd >= 0 {
                reactor.watch(process.pidfd) { [unowned self, unowned process] _ in
                    if let exit = process.reap() { self.childExited(pid: process.pid, exit) }
                }
            }
            applyVenue(slot.machine.spawned(pid: process.pid, now: now()))
        } catch {
            let restarts = slot.machine.restarts
            applyVenue(slot.machine.spawnFailed("\(error)", now: now()))
            if slot.machine.restarts > restarts { countRestart(VenueChild.name, .spawnFailed) }
        }
    }

    /// During a shutdown: once no worker is left, stops the venue; once it is gone too, ends the loop.
    func finishShutdownIfDone() {
        guard shuttingDown else { return }
        let workersLeft = slots.values.filter { $0.process != nil }.count
        guard VenueChild.stopVenue(shuttingDown: shuttingDown, workersLeft: workersLeft) else { return }
        if let slot = venue, slot.machine.state != .stopped {
            if slot.machine.state != .stopping || slot.machine.stopIntent != .stop {
                log.note("every worker has ended; stopping the paper venue", event: "SUPERVISOR_STOPPING")
                applyVenue(slot.machine.stop(now: now()))
            }
            if slot.process != nil { return }
        }
        reactor.stop()
    }

    /// A restart the policy decided, counted for its market or for the venue.
    func countRestart(_ name: String, _ cause: SupervisorMetrics.RestartCause) {
        if name == VenueChild.name { metrics.venueRestart(cause: cause) } else { metrics.restart(market: name, cause: cause) }
    }

    /// A reload keeps the venue as it runs; a change to whether the supervisor runs it, or to the
    /// venue's own settings, takes effect when the supervisor (or the venue) restarts.
    func reloadVenue(_ fresh: Configuration, requestedBy who: String) {
        venue?.machine.update(settings: fresh.supervisor)
        if fresh.venue.supervisedBySupervisor != config.venue.supervisedBySupervisor {
            log.note(
                "\(who): whether the supervisor runs the paper venue changed (now \(fresh.venue.supervisedBySupervisor)); "
                    + "it takes effect when the supervisor restarts", event: "RELOADED", .warning)
        }
    }
}
