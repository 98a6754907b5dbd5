import Foundation
import Logging
import Observability
import Platform
import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `watchdog run`: the shell around `WatchdogState`, wiring of rooms with one job each. One reactor
/// thread does everything:
///
/// ```
///  WatchdogStartup ─▶ WatchdogServer (connections, timers, sd_notify)
///  worker ──hello──▶ HelloAdmission ─▶ welcome{applied: from the last saved snapshot}
///  worker ──events─▶ EventIntake ─▶ WatchdogState.apply ─▶ SnapshotCommitter (GroupCommit decides) ─▶ ack{run_id, seq}
///  operator ─status/ack─▶ OperatorDesk ─▶ one answer line each (ack: clear_latch relayed to the worker)
/// ```
/// Bad input is counted by reason (per market when known, and globally), logged once per
/// connection per reason, and never stops another connection or the process.
public final class WatchdogServer {
    private let reactor: Reactor
    private let config: Configuration
    private let snapshot: SnapshotFile
    private let policy: HeartbeatPolicy
    private var state: WatchdogState
    private let listener: WatchdogStartup.Listener
    private let instanceLock: InstanceLock
    private let admission: HelloAdmission
    private let desk: OperatorDesk
    private let committer: SnapshotCommitter
    private var clients: [Int32: ClientConnection] = [:]
    private var nextSerial = 1
    private var lastStatusLine = ""
    private var refusingConnections = false
    private var exitStatus: WatchdogExitStatus = .ok
    /// The registry, process metrics and `/metrics` server (docs/METRICS.md).
    private let endpoint = MetricsEndpoint()
    private lazy var metricsSync = WatchdogMetricsSync(metrics: WatchdogMetrics(registry: endpoint.registry))
    /// The live status page, when configured (docs/watchdog.md, "Dashboard").
    private let dashboard = DashboardPublisher()
    /// Journals every raised and resolved alert and pushes it where `alerting` says (AlertNotifier).
    private lazy var alerts = AlertNotifier(state: state, config: config, metrics: AlertingMetrics(registry: endpoint.registry))
    /// Whether the loop rests after a turn of heartbeats only, so many markets' share a wakeup.
    private var coalescing = HeartbeatCoalescing(now: MonotonicClock.nowNanos())

    init(_ ready: WatchdogStartup.Ready) {
        reactor = ready.reactor
        config = ready.config
        snapshot = ready.snapshot
        state = ready.state
        listener = ready.listener
        instanceLock = ready.instanceLock
        let t = config.timings
        policy = HeartbeatPolicy(lateSeconds: t.heartbeatInterval * t.heartbeatLateIntervals, lostSeconds: t.heartbeatLost)
        let ownUID = getuid()
        admission = HelloAdmission(paths: config.paths, ownUID: ownUID)
        desk = OperatorDesk(reactor: reactor, ownUID: ownUID, policy: policy, configuredMarkets: config.marketNames)
        committer = SnapshotCommitter(
            file: snapshot, reactor: reactor, writer: ready.writer, intervalSeconds: config.watchdog.snapshotInterval, loaded: state)
        ready.writer.done = { [unowned self] result in self.committer.written(result, state: self.state, clients: self.clients) }
        committer.onDue = { [unowned self] in self.committer.timerFired(state: self.state, clients: self.clients) }
    }

    func serve() -> WatchdogExitStatus {
        do {
            try reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { [unowned self] signal in
                if signal == SIGHUP {
                    Diagnostics.note("SIGHUP ignored: restart the watchdog to apply a new configuration")
                } else {
                    self.stop()
                }
            }
        } catch {
            return Diagnostics.log.fail(.osError, "\(error)")
        }
        alerts.start()
        reactor.watch(listener.fd) { [unowned self] _ in self.acceptAll() }
        reactor.onIdle = { [unowned self] in self.committer.idle(state: self.state, clients: self.clients) }
        reactor.idleWanted = { [unowned self] in self.committer.wantsIdle }
        reactor.restNanos = { [unowned self] in
            self.coalescing.turnEnded(now: MonotonicClock.nowNanos(), mustAnswer: self.committer.wantsIdle || self.committer.isWriting)
        }
        let tickSeconds = min(0.1, config.timings.heartbeatInterval / 4)
        scheduleTick(every: tickSeconds)
        ProcessShell.pingWatchdog(on: reactor)
        if let port = config.metrics.watchdogPort {
            endpoint.serve(host: config.metrics.host, port: port, logger: Diagnostics.logger)
            scheduleMetricsSync()
        }
        dashboard.start(config: config, reactor: reactor, metrics: endpoint) { [unowned self] in
            StatusReport(state: self.state, configuredMarkets: self.config.marketNames, connections: self.clients.count, now: .now())
        }
        Diagnostics.note(
            "serving \(config.paths.watchdogSocket)\(listener.ownsSocketFile ? "" : " (socket passed by systemd, fd 3)"), \(state.markets.count) markets, snapshot \(snapshot.path), configuration \(config.source)"
        )
        SdNotify.send("READY=1")
        sendStatus()
        reactor.run()
        dashboard.shutdown()
        endpoint.shutdown()
        return exitStatus
    }

    private func stop() {
        SdNotify.send("STOPPING=1")
        for client in Array(clients.values) { client.line.close() }
        reactor.unwatch(listener.fd)
        close(listener.fd)
        if listener.ownsSocketFile { unlink(config.paths.watchdogSocket) }
        committer.finish()
        do {
            try snapshot.save(state, at: .now())
        } catch {
            Diagnostics.note("\(snapshot.path): cannot save the final snapshot: \(error)")
            exitStatus = .osError
        }
        alerts.finish()
        Diagnostics.note("stopped, snapshot saved")
        reactor.stop()
    }

    // MARK: timers

    /// Copies the state into the metrics twice a second (the state machine knows nothing of them).
    private func scheduleMetricsSync() {
        metricsSync.sync(state)
        reactor.schedule(afterSeconds: 0.5) { [unowned self] in self.scheduleMetricsSync() }
    }

    private func scheduleTick(every seconds: Double) {
        reactor.schedule(afterSeconds: seconds) { [unowned self] in
            if self.state.tick(now: .now(), policy: self.policy) {
                self.markDirty()
                for (name, m) in self.state.markets.sorted(by: { $0.key < $1.key }) where m.heartbeatState != .ok {
                    Diagnostics.note("\(name): heartbeat \(m.heartbeatState.rawValue), last \(m.lastHeartbeatUTC ?? "never")")
                }
            }
            self.sendStatus()
            self.scheduleTick(every: seconds)
        }
    }

    private func sendStatus() {
        let line = "\(state.markets.count) markets, \(clients.count) connections, \(state.openAlertCount) open alerts"
        guard line != lastStatusLine else { return }
        lastStatusLine = line
        SdNotify.send(SdNotify.statusLine(line))
    }

    /// The state changed: the alert notifier journals and queues any alert raised or resolved by it
    /// (one comparison when none was), the snapshot is due (the committer decides when) and the
    /// dashboard has something new to publish.
    private func markDirty(lazily: Bool = false) {
        alerts.observe(state)
        dashboard.changed = true
        committer.markDirty(lazily: lazily)
    }

    // MARK: connections

    private func acceptAll() {
        coalescing.other()
        while let fd = UnixSocket.accept(listener.fd) {
            if clients.count >= config.watchdog.maxConnections {
                state.countRejection(.tooManyConnections, market: nil)
                let line = WireCoding.line(
                    WireError(
                        reason: .tooManyConnections, detail: "the watchdog serves at most \(config.watchdog.maxConnections) connections"))
                _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                if !refusingConnections {
                    refusingConnections = true
                    Diagnostics.note(
                        "too_many_connections: refusing connections beyond \(config.watchdog.maxConnections) (logged once until below)")
                }
                markDirty(lazily: true)
                continue
            }
            refusingConnections = false
            let client = ClientConnection(serial: nextSerial, line: LineConnection(fd: fd, reactor: reactor))
            nextSerial += 1
            clients[fd] = client
            client.line.onFrame = { [unowned self, unowned client] frame in self.received(frame, on: client) }
            client.line.onClose = { [unowned self, unowned client] _ in self.closed(client) }
            client.helloTimer = reactor.schedule(afterSeconds: config.watchdog.helloTimeout) { [unowned self, weak client] in
                guard let client, client.role == .pending, !client.line.isClosed else { return }
                self.refuse(client, .helloTimeout, "no hello within \(self.config.watchdog.helloTimeout) s")
            }
        }
    }

    private func closed(_ client: ClientConnection) {
        coalescing.other()
        if let timer = client.helloTimer { reactor.cancel(timer) }
        clients.removeValue(forKey: client.line.fd)
    }

    private func received(_ frame: LineFramer.Frame, on client: ClientConnection) {
        switch frame {
        case .tooLong(let length):
            coalescing.other()
            let detail = "a line of \(length) bytes, over the \(WireFormat.maxLineBytes)-byte limit, was discarded"
            if client.role == .pending { refuse(client, .lineTooLong, detail) } else { reject(client, .lineTooLong, detail) }
        case .line(let bytes):
            switch client.role {
            case .pending:
                coalescing.other()
                hello(Array(bytes), on: client)
            case .worker(let market, _): event(bytes, market: market, on: client)
            case .operator:
                coalescing.other()
                request(Array(bytes), on: client)
            }
        }
    }

    /// Counts and (once per connection and reason) logs a refused line; the connection stays.
    private func reject(_ client: ClientConnection, _ reason: RejectionReason, _ detail: String) {
        state.countRejection(reason, market: client.market)
        markDirty(lazily: true)
        if client.shouldLog(reason) {
            Diagnostics.note(
                "\(client.label): \(reason.rawValue): \(detail) (further \(reason.rawValue) on this connection are counted, not logged)")
        }
    }

    /// Counts, logs, answers with the reason and closes the connection.
    private func refuse(_ client: ClientConnection, _ reason: RejectionReason, _ detail: String) {
        reject(client, reason, detail)
        client.line.send(WireCoding.line(WireError(reason: reason, detail: detail)))
        client.line.close()
    }

    // MARK: the three kinds of line

    /// A pending connection's first line: `HelloAdmission` decides who it is.
    private func hello(_ bytes: [UInt8], on client: ClientConnection) {
        let decision = admission.admit(bytes, peer: client.line.peer)
        if case .refused(let reason, let detail) = decision {
            refuse(client, reason, detail)
            return
        }
        if let timer = client.helloTimer { reactor.cancel(timer) }
        client.helloTimer = nil
        switch decision {
        case .refused: return
        case .operator:
            client.role = .operator
        case .worker(let worker):
            let market = state.markets[worker.market]
            if let mark = FenceHighWater.regression(fence: worker.fence, runID: worker.runID, market: market) {
                let detail =
                    "fence \(worker.fence) of run \(worker.runID) is not above the high-water mark \(mark) of \(worker.market): raise it and say hello again"
                reject(client, .fenceRegression, detail)
                client.line.send(WireCoding.line(WireError(reason: .fenceRegression, detail: detail, fenceHighWater: mark)))
                client.line.close()
                return
            }
            client.role = .worker(market: worker.market, runID: worker.runID)
            client.helloFence = worker.fence
            if worker.wantsAppliedNotices {
                client.wantsAppliedNotices = true
                client.line.onReadHandled = { [unowned self, unowned client] in self.sendAppliedNotices(to: client) }
            }
            client.resumeRuns = Set(worker.resumeRuns)
            var applied: [String: Int64] = [:]
            for run in worker.resumeRuns + [worker.runID] { applied[run] = committer.durable[worker.market]?[run] ?? 0 }
            client.line.send(WireCoding.line(Welcome(applied: applied, fenceHighWater: market?.fenceHighWater ?? 0)))
        }
        sendStatus()
    }

    /// A worker's event line: `EventIntake` applies it.
    private func event(_ bytes: UnsafeBufferPointer<UInt8>, market: String, on client: ClientConnection) {
        let now = WatchdogInstant.now()
        switch EventIntake.take(bytes, market: market, on: client, into: &state, now: now) {
        case .rejected(let reason, let detail):
            coalescing.other()
            reject(client, reason, detail)
        case .applied:
            coalescing.other()
            markDirty()
        case .latchCleared(let event):
            coalescing.other()
            desk.latchCleared(event)
            markDirty()
        case .heartbeat:
            coalescing.heartbeat(now: now.monotonicNanos)
            markDirty(lazily: true)
        case .routine:
            coalescing.other()
            markDirty(lazily: true)
        }
    }

    /// The `applied` notices a connection asked for, after a read that applied events.
    private func sendAppliedNotices(to client: ClientConnection) {
        guard !client.appliedToNotify.isEmpty else { return }
        for (run, seq) in client.appliedToNotify { client.line.send(Applied(runID: run, seq: seq).line) }
        client.appliedToNotify.removeAll(keepingCapacity: true)
    }

    /// An operator's request line: `OperatorDesk` answers it.
    private func request(_ bytes: [UInt8], on client: ClientConnection) {
        switch desk.request(bytes, from: client, state: &state, connections: clients) {
        case .rejected(let reason, let detail):
            reject(client, reason, detail)
            client.line.send(WireCoding.line(WireError(reason: reason, detail: detail)))
        case .answered(let changed):
            if changed { markDirty() }
        }
    }
}
