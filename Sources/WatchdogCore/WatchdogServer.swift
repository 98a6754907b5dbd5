#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Platform
import Wire
import Logging
import Observability
import RobotConfig

/// What `watchdog` was asked to run with: the configuration's location, as for every executable.
/// What `watchdog run` runs on: its configuration's location.
public typealias WatchdogOptions = ConfigLocation

/// `watchdog run`: the shell around `WatchdogState`. One reactor thread does everything:
/// accepts connections, reads hellos, events and requests, ticks the heartbeat clock, saves the
/// snapshot (debounced) and, only once it is saved, acks the events it holds.
///
/// ```
///  worker ──hello──▶ welcome{applied: from the last saved snapshot}
///  worker ──events─▶ WatchdogState.apply ─▶ dirty ─(snapshot_interval)─▶ snapshot.json ─▶ ack{run_id, seq}
///  operator ─status/ack─▶ one answer line each
/// ```
/// Bad input is counted by reason (per market when known, and globally), logged once per
/// connection per reason, and never stops another connection or the process.
public final class WatchdogServer {
    private let reactor: Reactor
    private let config: Configuration
    private let snapshot: SnapshotFile
    private let policy: HeartbeatPolicy
    private var state: WatchdogState
    /// Applied seq per market and run as the last saved snapshot holds it: what welcomes report
    /// and acks confirm.
    private var durable: [String: [String: Int64]] = [:]
    private let listenFD: Int32
    private let ownsSocketFile: Bool
    private let instanceLock: InstanceLock
    private var clients: [Int32: ClientConnection] = [:]
    private var nextSerial = 1
    private var dirty = false
    /// Applied events, alerts or acknowledgements wait for the next snapshot (acks with them).
    private var eventsWaiting = false
    /// The last snapshot write failed: only its retry timer writes again.
    private var saveFailing = false
    /// When the last snapshot was encoded and how long that took the loop (monotonic nanoseconds).
    private var lastSaveStarted: Int64 = 0
    private var lastEncodeTook: Int64 = 0
    /// Writes the snapshots off the loop (created in `serve`).
    private var writer: SnapshotWriter!
    /// The snapshot being written: the applied seqs it holds and the runs each connection is
    /// owed an ack for once it is on disk.
    private var inFlight: (durable: [String: [String: Int64]], acks: [(client: ClientConnection, runs: [String])])?
    /// A save was asked for while a write was in flight: it follows as soon as that one ends.
    private var saveWhenWritten = false
    /// A write in flight longer than this is logged (once): the disk is stuck and acks wait.
    static let slowWriteSeconds: Int64 = 5
    private var slowWriteLogged = false
    private var saveTimer: Reactor.TimerID?
    /// When the scheduled save runs (monotonic nanoseconds), nil when none is scheduled.
    private var saveDue: Int64?
    private var lastStatusLine = ""
    private var refusingConnections = false
    private let ownUID = getuid()
    /// Operators waiting for a worker to confirm a cleared latch, by market.
    private var pendingLatchClears: [String: [(client: ClientConnection, acknowledged: [Alert], timer: Reactor.TimerID)]] = [:]
    /// How long an operator's `ack` waits for the worker's `FAILSAFE_CLEARED`.
    static let latchClearTimeout = 5.0
    /// The registry, process metrics and `/metrics` server (docs/METRICS.md).
    private let endpoint = MetricsEndpoint()
    private lazy var metricsSync = WatchdogMetricsSync(metrics: WatchdogMetrics(registry: endpoint.registry))
    /// Journals every raised and resolved alert and pushes it where `alerting` says (AlertNotifier).
    private lazy var alerts = AlertNotifier(state: state, config: config, metrics: AlertingMetrics(registry: endpoint.registry))

    /// Starts the watchdog and runs it until SIGTERM or SIGINT; returns its exit status.
    public static func run(_ options: WatchdogOptions) -> WatchdogExitStatus {
        ProcessLogging.bootstrap(identifier: "watchdog", environment: options.environment)
        let reactor: Reactor
        do {
            reactor = try Reactor()
            try reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { _ in }
        } catch {
            return fail(.osError, "\(error)")
        }
        let config: Configuration
        do {
            config = try options.load()
        } catch {
            return fail(.config, "\(error)")
        }
        let socketPath = config.paths.watchdogSocket
        let snapshot = SnapshotFile(stateDir: config.paths.stateDir)
        for dir in [config.paths.socketDir, snapshot.folder] {
            do { try Directories.make(dir) } catch { return fail(.cannotCreate, "\(dir): cannot create the folder: \(error)") }
        }
        let lock: InstanceLock
        do {
            guard let taken = try InstanceLock(socketPath: socketPath) else {
                return fail(.alreadyRunning, "another watchdog already serves \(socketPath)")
            }
            lock = taken
        } catch {
            return fail(.cannotCreate, "\(error)")
        }
        let now = WatchdogInstant.now()
        var state: WatchdogState
        do {
            state = try snapshot.load() ?? WatchdogState(configuredMarkets: config.marketNames, now: now)
        } catch {
            return fail(.snapshotDamaged, "\(error)")
        }
        state.restartClocks(at: now, configuredMarkets: config.marketNames)
        let listenFD: Int32
        let adopted = SdNotify.listenFDCount() == 1
        if adopted {
            listenFD = 3
            let flags = fcntl(listenFD, F_GETFL)
            guard flags >= 0, fcntl(listenFD, F_SETFL, flags | O_NONBLOCK) == 0 else {
                return fail(.osError, "\(SystemError("fcntl(3) of the socket systemd passed"))")
            }
            _ = fcntl(listenFD, F_SETFD, FD_CLOEXEC)
        } else {
            do {
                listenFD = try UnixSocket.listen(path: socketPath, mode: 0o660)
            } catch {
                if error.code == EADDRINUSE { return fail(.alreadyRunning, "another watchdog already serves \(socketPath)") }
                return fail(.cannotCreate, "\(error)")
            }
        }
        let server = WatchdogServer(
            reactor: reactor, config: config, snapshot: snapshot, state: state, listenFD: listenFD, ownsSocketFile: !adopted,
            instanceLock: lock)
        return server.serve()
    }

    private init(
        reactor: Reactor, config: Configuration, snapshot: SnapshotFile, state: WatchdogState, listenFD: Int32, ownsSocketFile: Bool,
        instanceLock: InstanceLock
    ) {
        self.reactor = reactor
        self.config = config
        self.snapshot = snapshot
        self.state = state
        self.listenFD = listenFD
        self.ownsSocketFile = ownsSocketFile
        self.instanceLock = instanceLock
        let t = config.timings
        policy = HeartbeatPolicy(lateSeconds: t.heartbeatInterval * t.heartbeatLateIntervals, lostSeconds: t.heartbeatLost)
        for name in state.markets.keys { durable[name] = state.applied(market: name) }
    }

    private func serve() -> WatchdogExitStatus {
        do {
            try reactor.onSignals([SIGTERM, SIGINT, SIGHUP]) { [unowned self] signal in
                if signal == SIGHUP {
                    Diagnostics.note("SIGHUP ignored: restart the watchdog to apply a new configuration")
                } else {
                    self.stop()
                }
            }
        } catch {
            return Self.fail(.osError, "\(error)")
        }
        do {
            writer = try SnapshotWriter(file: snapshot, reactor: reactor) { [unowned self] result in self.written(result) }
        } catch {
            return Self.fail(.osError, "cannot start the snapshot writer: \(error)")
        }
        alerts.start()
        reactor.watch(listenFD) { [unowned self] _ in self.acceptAll() }
        reactor.onIdle = { [unowned self] in self.saveOnPause() }
        let tickSeconds = min(0.1, config.timings.heartbeatInterval / 4)
        scheduleTick(every: tickSeconds)
        if let usec = SdNotify.watchdogMicros() { schedulePing(every: Int64(usec) * 1000 / 2) }
        if let port = config.metrics.watchdogPort {
            endpoint.serve(host: config.metrics.host, port: port, logger: Diagnostics.logger)
            scheduleMetricsSync()
        }
        Diagnostics.note(
            "serving \(config.paths.watchdogSocket)\(ownsSocketFile ? "" : " (socket passed by systemd, fd 3)"), \(state.markets.count) markets, snapshot \(snapshot.path)")
        SdNotify.send("READY=1")
        sendStatus()
        reactor.run()
        endpoint.shutdown()
        return exitStatus
    }

    /// Copies the state into the metrics twice a second (the state machine knows nothing of them).
    private func scheduleMetricsSync() {
        metricsSync.sync(state)
        reactor.schedule(afterSeconds: 0.5) { [unowned self] in self.scheduleMetricsSync() }
    }

    private var exitStatus: WatchdogExitStatus = .ok

    private func stop() {
        SdNotify.send("STOPPING=1")
        for client in Array(clients.values) { client.line.close() }
        reactor.unwatch(listenFD)
        close(listenFD)
        if ownsSocketFile { unlink(config.paths.watchdogSocket) }
        writer.finish()
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

    private func schedulePing(every nanos: Int64) {
        reactor.schedule(afterNanos: nanos) { [unowned self] in
            SdNotify.send("WATCHDOG=1")
            self.schedulePing(every: nanos)
        }
    }

    private func sendStatus() {
        let line = "\(state.markets.count) markets, \(clients.count) connections, \(state.openAlertCount) open alerts"
        guard line != lastStatusLine else { return }
        lastStatusLine = line
        SdNotify.send(SdNotify.statusLine(line))
    }

    // MARK: snapshot and acks

    /// Heartbeat times and rejection counters are saved within this, not within the snapshot
    /// interval: nothing waits on them (heartbeats are never acked), and saving the whole state for
    /// each heartbeat of 200 markets cost the idle watchdog about 5 % of a core.
    static let lazySaveSeconds = 2.0

    /// No snapshot is encoded sooner than this many times the last encoding's own duration after
    /// that one began: at most about a tenth of the loop's time goes to encoding snapshots, however
    /// events arrive and however slow encoding gets (a large state, a slow machine).
    static let saveSpacing: Int64 = 10

    /// Schedules a snapshot: within `watchdog.snapshot_interval_seconds` for what acks and alerts
    /// wait on (sooner when input pauses: `saveOnPause`), within `lazySaveSeconds` when `lazily`.
    private func markDirty(lazily: Bool = false) {
        alerts.observe(state)
        dirty = true
        if !lazily { eventsWaiting = true }
        let delay = lazily ? max(Self.lazySaveSeconds, config.watchdog.snapshotInterval) : config.watchdog.snapshotInterval
        scheduleSave(at: MonotonicClock.nowNanos() + Int64(delay * 1e9))
    }

    /// Has the snapshot written at `due` (monotonic nanoseconds) unless a save is due sooner.
    private func scheduleSave(at due: Int64) {
        if let scheduled = saveDue, scheduled <= due { return }
        if let timer = saveTimer { reactor.cancel(timer) }
        saveDue = due
        saveTimer = reactor.schedule(afterNanos: max(0, due - MonotonicClock.nowNanos())) { [unowned self] in self.save() }
    }

    /// Input paused (the reactor is idle): a group commit. Events waiting for their ack are
    /// written now, or as soon as `saveSpacing` allows.
    private func saveOnPause() {
        guard eventsWaiting, !saveFailing else { return }
        save()
    }

    /// Encodes the state and hands it to the writer; `written` acks once it is on disk. Too soon
    /// after the last encoding (`saveSpacing`) it is put off until allowed; with a write in
    /// flight, it follows when that one ends.
    private func save() {
        if let timer = saveTimer { reactor.cancel(timer) }
        saveTimer = nil
        saveDue = nil
        guard dirty else { return }
        let allowed = lastSaveStarted + Self.saveSpacing * lastEncodeTook
        guard MonotonicClock.nowNanos() >= allowed else {
            scheduleSave(at: allowed)
            return
        }
        guard !writer.isBusy else {
            saveWhenWritten = true
            let inFlightNanos = MonotonicClock.nowNanos() - lastSaveStarted
            if !slowWriteLogged, inFlightNanos > Self.slowWriteSeconds * 1_000_000_000 {
                slowWriteLogged = true
                Diagnostics.note(
                    "\(snapshot.path): the snapshot write has not finished after \(inFlightNanos / 1_000_000_000) s; nothing is acked until it does (is the disk stuck?)")
            }
            return
        }
        saveWhenWritten = false
        let started = MonotonicClock.nowNanos()
        let data: Data
        do {
            data = try snapshot.encode(state, at: .now())
        } catch {
            saveFailed(error, owed: [])
            return
        }
        lastSaveStarted = started
        lastEncodeTook = MonotonicClock.nowNanos() - started
        var holds: [String: [String: Int64]] = [:]
        for name in state.markets.keys { holds[name] = state.applied(market: name) }
        var acks: [(client: ClientConnection, runs: [String])] = []
        for client in clients.values where !client.runsToAck.isEmpty { acks.append((client, client.takeRunsToAck())) }
        inFlight = (holds, acks)
        dirty = false
        eventsWaiting = false
        writer.start(data)
    }

    /// The writer finished: on success what the snapshot holds is durable and acked on every
    /// connection that delivered it; on failure everything waits for the retry.
    private func written(_ result: Result<Void, SystemError>) {
        guard let job = inFlight else { return }
        inFlight = nil
        if slowWriteLogged {
            slowWriteLogged = false
            Diagnostics.note("\(snapshot.path): the slow snapshot write finished after \((MonotonicClock.nowNanos() - lastSaveStarted) / 1_000_000) ms")
        }
        switch result {
        case .success:
            saveFailing = false
            durable = job.durable
            for (client, runs) in job.acks where !client.line.isClosed {
                guard let market = client.market else { continue }
                for run in runs {
                    if let seq = durable[market]?[run], seq > 0 { client.line.send(Ack(runID: run, seq: seq).line) }
                }
            }
            if saveWhenWritten { save() }
        case .failure(let error):
            saveFailed(error, owed: job.acks)
        }
    }

    /// A snapshot could not be encoded or written: nothing is acked, the state stays dirty and
    /// the save is retried in a second.
    private func saveFailed(_ error: SystemError, owed: [(client: ClientConnection, runs: [String])]) {
        Diagnostics.note("\(snapshot.path): cannot save the snapshot: \(error); retrying in 1 s, nothing is acked meanwhile")
        saveFailing = true
        dirty = true
        eventsWaiting = true
        for (client, runs) in owed where !client.line.isClosed { for run in runs { client.delivered(run: run) } }
        scheduleSave(at: MonotonicClock.nowNanos() + 1_000_000_000)
    }

    // MARK: connections

    private func acceptAll() {
        while let fd = UnixSocket.accept(listenFD) {
            if clients.count >= config.watchdog.maxConnections {
                state.countRejection(.tooManyConnections, market: nil)
                let line = WireCoding.line(
                    WireError(reason: .tooManyConnections, detail: "the watchdog serves at most \(config.watchdog.maxConnections) connections"))
                _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                if !refusingConnections {
                    refusingConnections = true
                    Diagnostics.note("too_many_connections: refusing connections beyond \(config.watchdog.maxConnections) (logged once until below)")
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
        if let timer = client.helloTimer { reactor.cancel(timer) }
        clients.removeValue(forKey: client.line.fd)
    }

    private func received(_ frame: LineFramer.Frame, on client: ClientConnection) {
        switch frame {
        case .tooLong(let length):
            let detail = "a line of \(length) bytes, over the \(WireFormat.maxLineBytes)-byte limit, was discarded"
            if client.role == .pending { refuse(client, .lineTooLong, detail) } else { reject(client, .lineTooLong, detail) }
        case .line(let bytes):
            switch client.role {
            case .pending: hello(Array(bytes), on: client)
            case .worker(let market, _): event(bytes, market: market, on: client)
            case .operator: request(Array(bytes), on: client)
            }
        }
    }

    /// Counts and (once per connection and reason) logs a refused line; the connection stays.
    private func reject(_ client: ClientConnection, _ reason: RejectionReason, _ detail: String) {
        state.countRejection(reason, market: client.market)
        markDirty(lazily: true)
        if client.shouldLog(reason) {
            Diagnostics.note("\(client.label): \(reason.rawValue): \(detail) (further \(reason.rawValue) on this connection are counted, not logged)")
        }
    }

    /// Counts, logs, answers with the reason and closes the connection.
    private func refuse(_ client: ClientConnection, _ reason: RejectionReason, _ detail: String) {
        reject(client, reason, detail)
        client.line.send(WireCoding.line(WireError(reason: reason, detail: detail)))
        client.line.close()
    }

    private func hello(_ bytes: [UInt8], on client: ClientConnection) {
        let hello: Hello
        do {
            _ = try JSONParser.parse(bytes)
            hello = try WireCoding.decode(Hello.self, from: bytes)
        } catch {
            refuse(client, .badHello, "the first line is not a hello: \(error)")
            return
        }
        guard hello.v == WireFormat.version, hello.type == "hello" else {
            refuse(client, .badHello, "expected {\"v\":\(WireFormat.version),\"type\":\"hello\",…}")
            return
        }
        if let timer = client.helloTimer { reactor.cancel(timer) }
        client.helloTimer = nil
        switch hello.role {
        case .operator:
            client.role = .operator
        case .worker:
            guard let market = hello.market, Identifier.isValidMarket(market), let runID = hello.runID, Identifier.isValidRunID(runID),
                let pid = hello.pid, let fence = hello.fence, fence >= 0
            else {
                refuse(client, .badHello, "a worker hello needs market, run_id, pid and fence")
                return
            }
            let resume = hello.resumeRuns ?? []
            guard resume.count <= 4 * MarketState.maxRuns, resume.allSatisfy(Identifier.isValidRunID) else {
                refuse(client, .badHello, "resume_runs: at most \(4 * MarketState.maxRuns) run ids")
                return
            }
            guard let peer = client.line.peer, peer.pid == pid else {
                let actual = client.line.peer.map { String($0.pid) } ?? "unknown"
                refuse(client, .peerMismatch, "hello pid \(pid) is not the peer's pid \(actual)")
                return
            }
            // Only the service's own user speaks for a market, and only its lock holder with a fence:
            // a process that holds no lock of this market may deliver a refusal (fence 0) and nothing else.
            guard OperatorAccess.mayChangeState(peerUID: peer.uid, ownUID: ownUID) else {
                refuse(client, .notPermitted, "uid \(peer.uid) may not speak for a market; only root and uid \(ownUID) may")
                return
            }
            if fence > 0, !holdsLock(pid: pid, market: market) {
                refuse(client, .peerMismatch, "pid \(pid) says it holds \(market) with fence \(fence), but it holds no lock of \(market)")
                return
            }
            client.role = .worker(market: market, runID: runID)
            client.helloFence = fence
            if hello.appliedNotices == true {
                client.wantsAppliedNotices = true
                client.line.onReadHandled = { [unowned self, unowned client] in self.sendAppliedNotices(to: client) }
            }
            client.resumeRuns = Set(resume)
            var applied: [String: Int64] = [:]
            for run in resume + [runID] { applied[run] = durable[market]?[run] ?? 0 }
            client.line.send(WireCoding.line(Welcome(applied: applied)))
        }
        sendStatus()
    }

    private func event(_ bytes: UnsafeBufferPointer<UInt8>, market: String, on client: ClientConnection) {
        let event: Event
        do {
            event = try Event.decode(line: bytes)
        } catch {
            reject(client, error.reason, error.detail)
            return
        }
        guard event.market == market else {
            reject(client, .wrongMarket, "an event of \(event.market) on a connection bound to \(market)")
            return
        }
        // A holder speaks for its own fence and the earlier runs it resumes, never a later fence; a
        // refused worker (hello fence 0) only for its own run at fence 0.
        if event.fence > client.helloFence
            || (client.helloFence == 0 && (event.runID != client.role.runID || event.isHeartbeat))
        {
            reject(client, .notPermitted, "an event of run \(event.runID) at fence \(event.fence) on a connection whose hello claimed fence \(client.helloFence)")
            return
        }
        switch state.apply(event, now: .now(), resumed: client.resumeRuns.contains(event.runID)) {
        case .applied(let run, let seq):
            client.delivered(run: run)
            client.applied(run: run, seq: seq)
            if event.type == EventType.failsafeCleared.rawValue { latchCleared(event) }
        case .duplicate(let run, _): client.delivered(run: run)
        case .heartbeat, .staleHeartbeat:
            markDirty(lazily: true)
            return
        }
        markDirty()
    }

    /// The `applied` notices a connection asked for, after a read that applied events.
    private func sendAppliedNotices(to client: ClientConnection) {
        guard !client.appliedToNotify.isEmpty else { return }
        for (run, seq) in client.appliedToNotify { client.line.send(Applied(runID: run, seq: seq).line) }
        client.appliedToNotify.removeAll(keepingCapacity: true)
    }

    /// True when the kernel says `pid` holds the flock of `market`'s lock file, or of the inode the
    /// market's fence file records (a lock file replaced under its live holder).
    private func holdsLock(pid: Int32, market: String) -> Bool {
        var inodes: [(UInt64, UInt64)] = []
        var st = stat()
        if stat(config.paths.lockFile(market), &st) == 0 { inodes.append((UInt64(st.st_dev), UInt64(st.st_ino))) }
        if let data = FileManager.default.contents(atPath: config.paths.fenceFile(market)), data.count < 65536,
            let o = try? JSONParser.parse(Array(data)).objectValue,
            let dev = o["lock_device"]?.intValue, let ino = o["lock_inode"]?.intValue
        {
            inodes.append((UInt64(bitPattern: dev), UInt64(bitPattern: ino)))
        }
        return inodes.contains { FlockTable.holders(device: $0.0, inode: $0.1).contains(pid) }
    }

    private func request(_ bytes: [UInt8], on client: ClientConnection) {
        let request: OperatorRequest
        do {
            _ = try JSONParser.parse(bytes)
        } catch {
            reject(client, error.reason, error.detail)
            client.line.send(WireCoding.line(WireError(reason: error.reason, detail: error.detail)))
            return
        }
        do {
            request = try WireCoding.decode(OperatorRequest.self, from: bytes)
        } catch {
            let detail = "expected {\"v\":1,\"type\":\"status\"|\"ack\",\"market\":…,\"alert_id\":…}"
            reject(client, .invalidField, detail)
            client.line.send(WireCoding.line(WireError(reason: .invalidField, detail: detail)))
            return
        }
        if request.changesState, !OperatorAccess.mayChangeState(peerUID: client.line.peer?.uid, ownUID: ownUID) {
            let detail = "uid \(client.line.peer.map { String($0.uid) } ?? "unknown") may not acknowledge; only root and uid \(ownUID) may"
            reject(client, .notPermitted, detail)
            client.line.send(WireCoding.line(WireError(reason: .notPermitted, detail: detail)))
            return
        }
        let now = WatchdogInstant.now()
        switch request.type {
        case .status:
            if state.tick(now: now, policy: policy) { markDirty() }
            var markets = state.markets
            if let only = request.market { markets = markets.filter { $0.key == only } }
            let report = StatusReport(
                generatedAtUTC: now.utc, watchdogPID: getpid(), configuredMarkets: config.marketNames, markets: markets,
                rejected: state.rejected, connections: clients.count, alertHistory: state.alertHistory)
            client.line.send(WireCoding.line(report))
        case .ack:
            let market = request.market ?? ""
            let done = state.acknowledge(market: market, alertID: request.alertID, now: now)
            if !done.isEmpty {
                markDirty()
                Diagnostics.note("\(client.label): acknowledged \(done.map(\.alertID).joined(separator: ", "))")
            }
            guard let latch = state.markets[market]?.latch else {
                client.line.send(WireCoding.line(AckReport(market: market, acknowledged: done)))
                return
            }
            relayLatchClear(market: market, latch: latch, from: client, acknowledged: done)
        }
    }

    /// Asks the market's worker, over its live connection, to clear its latch; the operator's
    /// answer waits for the worker's `FAILSAFE_CLEARED` (or `latchClearTimeout`). Only the worker
    /// clears a latch: without a live connection the ack says so and the latch stays.
    private func relayLatchClear(market: String, latch: MarketState.Latch, from client: ClientConnection, acknowledged: [Alert]) {
        let holder = state.markets[market]?.lock?.runID
        guard let holder, let worker = clients.values.first(where: { $0.role == .worker(market: market, runID: holder) && !$0.line.isClosed })
        else {
            let message = "\(market): the \(latch.trigger) latch stays set: its worker is not connected to the watchdog"
                + (holder.map { " (holder run \($0))" } ?? " (no lock holder)") + "; start it or wait for it to reconnect, then ack again"
            client.line.send(WireCoding.line(AckReport(market: market, acknowledged: acknowledged, latch: .notConnected, latchMessage: message)))
            return
        }
        let peer = client.line.peer
        let by = "uid \(peer.map { String($0.uid) } ?? "?") (pid \(peer.map { String($0.pid) } ?? "?")) through watchdog ack"
        worker.line.send(WireCoding.line(ClearLatch(by: by)))
        Diagnostics.note("\(client.label): asked \(worker.label) to clear its \(latch.trigger) latch")
        let timer = reactor.schedule(afterSeconds: Self.latchClearTimeout) { [unowned self, weak client] in
            guard let client else { return }
            self.pendingLatchClears[market]?.removeAll { $0.client === client }
            let message = "\(market): asked the worker to clear its \(latch.trigger) latch; it did not confirm within \(Self.latchClearTimeout) s"
            client.line.send(WireCoding.line(AckReport(market: market, acknowledged: acknowledged, latch: .notConfirmed, latchMessage: message)))
        }
        pendingLatchClears[market, default: []].append((client, acknowledged, timer))
    }

    /// A worker journaled `FAILSAFE_CLEARED`: answers the operators waiting for it.
    private func latchCleared(_ event: Event) {
        guard let waiting = pendingLatchClears.removeValue(forKey: event.market) else { return }
        let message = "\(event.market): \(event.data["trigger"]?.stringValue ?? "the") latch cleared by the worker (run \(event.runID)), "
            + "recorded as cleared by \(event.data["cleared_by"]?.stringValue ?? "?")"
        for w in waiting {
            reactor.cancel(w.timer)
            w.client.line.send(WireCoding.line(AckReport(market: event.market, acknowledged: w.acknowledged, latch: .cleared, latchMessage: message)))
        }
    }

    // MARK: helpers

    private static func fail(_ status: WatchdogExitStatus, _ message: String) -> WatchdogExitStatus {
        Diagnostics.note(message)
        return status
    }
}
