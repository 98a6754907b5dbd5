import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The worker's side of the watchdog protocol (docs/PROTOCOL.md): delivers every event
/// at least once, on the worker's reactor, without ever making the engine wait.
///
/// ```
///  EventLog.emit ─journal─▶ forward(event, line) ─▶ outbox[run] ─(streaming)─▶ socket
///                                                      ▲   │
///                                     ack{run, seq} ───┘   └─ kept until acked
///  connect ─▶ hello{run, resume_runs} ─▶ welcome{applied} ─▶ re-send after applied (older runs
///             first), a fresh heartbeat, then stream
/// ```
/// The outbox holds every non-heartbeat line of this run not yet acked, in memory, with the
/// journal as its durable copy; earlier runs' un-acked lines are streamed from the journal's files
/// (`JournalBacklog`), never held. The socket is non-blocking and at most `maxPendingOutput` bytes wait in the
/// connection's buffer: past that, sending pauses and resumes when the connection reports it
/// drained (no polling), and the outbox
/// keeps the rest. Heartbeats are sent live only, after the lines queued before them: while the
/// outbox is being sent, only the latest waits; none waits through a disconnect.
/// A lost connection is retried after 50 ms, doubling up to `worker.reconnect_max_seconds`.
///
/// Once everything is acked, the newest sealed segment becomes `events.1.ndjson` (the older ones
/// are deleted), and the journal is rotated to `events.1.ndjson` (the segments deleted) when it
/// is larger than `worker.journal_max_bytes` or its first line is older than
/// `worker.journal_max_age_seconds`; while events are un-acked, a journal past the size is sealed
/// as a segment (`JournalSegments`) instead, so no file grows without bound. The un-acked bytes
/// are held under `worker.journal_max_unacked_bytes` (`UnackedCeiling`).
public final class WatchdogLink {
    /// Un-acked lines of one run, oldest first; `sent` counts those handed to the connection.
    final class RunOutbox {
        let runID: String
        var lines: [(seq: Int64, bytes: [UInt8])] = []
        var head = 0
        var sent = 0
        /// The bytes of the lines not yet acked.
        var pendingBytes = 0

        init(runID: String) { self.runID = runID }

        var pending: Int { lines.count - head }

        /// Drops every line up to `seq` (acked or applied).
        func drop(through seq: Int64) {
            while head < lines.count, lines[head].seq <= seq {
                pendingBytes -= lines[head].bytes.count
                head += 1
            }
            sent = max(sent, head)
            if head == lines.count {
                lines.removeAll(keepingCapacity: true)
                head = 0
                sent = 0
            } else if head > 4096, head * 2 > lines.count {
                lines.removeFirst(head)
                sent -= head
                head = 0
            }
        }
    }

    enum Phase { case disconnected, awaitingWelcome, streaming }

    /// Bytes allowed to wait in the connection's output buffer before sending pauses.
    static let maxPendingOutput = 256 * 1024
    static let firstBackoff = 0.05

    /// Called once a welcome arrives: the worker emits a fresh heartbeat.
    public var onWelcome: (() -> Void)?
    /// Called at every answer of the watchdog (a welcome or an ack): the engine's `WatchdogObservation`.
    public var onAnswer: (() -> Void)?
    /// Called with the watchdog's high-water mark for the market, from its welcome or from its
    /// refusal of a regressed hello, before anything is sent: the worker raises its fence when it is
    /// not above the mark. After a welcome, a raised fence needs a new hello (`reconnect`).
    public var onHighWater: ((Int64, _ refused: Bool) -> Void)?
    /// Called once when the first connection attempt fails or closes before a welcome: the worker
    /// cannot learn the high-water mark at start (docs/robot-worker.md, "Fence memory").
    public var onUnreachableAtStart: (() -> Void)?
    private var welcomedOnce = false
    /// Called with who asked when the watchdog relays an operator's request to clear the latch.
    public var onClearLatch: ((String) -> Void)?
    /// Called when the un-acked ceiling trips (with why) or clears (nil).
    public var onCeiling: ((UnackedCeiling.Change) -> Void)?

    private let reactor: Reactor
    private let socketPath: String
    let log: EventLog
    let journal: Journal
    let settings: WorkerSettings
    /// Earlier runs' un-acked events, streamed from the journal's files.
    let backlog: JournalBacklog
    /// This run's un-acked events.
    let current: RunOutbox
    /// While the watchdog is away, this run's un-acked lines are kept in memory up to
    /// `spillBytes`; past that they are dropped from memory ("spilled": the journal holds them)
    /// and the welcome re-reads them from the journal's files (`spill`).
    var spilled: (through: Int64, count: Int, bytes: Int)?
    private var spill: JournalBacklog?
    var spillBytes: Int { min(settings.journalMaxBytes, 16 << 20) }
    var ceiling: UnackedCeiling
    var lastCeilingChange: UnackedCeiling.Change?
    /// Keeps the verified prefix moving with this run's appends (nil: not kept).
    var keeper: VerifiedPrefixKeeper?
    let segments: JournalSegments
    /// Whether sealed segments may be on disk (deleted once every event is acked).
    var sealedSegments: Bool
    private var connection: LineConnection?
    var phase = Phase.disconnected
    private var backoff = WatchdogLink.firstBackoff
    /// When the journal's first line was written, on the monotonic clock (nanoseconds): its age
    /// decides rotation, and a wall-clock step must not make it look older or younger.
    var journalFirstMonotonic: Int64?
    private var lastProblem = ""
    /// The latest heartbeat not yet sent; dropped on a disconnect (never re-sent).
    private var pendingHeartbeat: [UInt8]?

    /// Offers the earlier runs of `backlog`; call `start` to connect.
    public init(
        reactor: Reactor, socketPath: String, log: EventLog, journal: Journal, backlog: JournalBacklog, firstMicros: Int64?,
        settings: WorkerSettings, keeper: VerifiedPrefixKeeper? = nil
    ) {
        self.reactor = reactor
        self.socketPath = socketPath
        self.log = log
        self.journal = journal
        self.settings = settings
        self.backlog = backlog
        self.keeper = keeper
        segments = JournalSegments(journalPath: journal.path)
        sealedSegments = !segments.list().isEmpty
        ceiling = UnackedCeiling(limit: settings.journalMaxUnackedBytes)
        // Lines of earlier runs carry only wall time: their age is read once, here.
        journalFirstMonotonic = firstMicros.map { MonotonicClock.nowNanos() - (UTCTimestamp.nowMicros() - $0) * 1000 }
        current = RunOutbox(runID: log.runID)
    }

    /// Takes the earlier runs from the start-up scan of the journal, makes the link `log`
    /// forwards to (and reports durable lines to), and connects.
    public static func attach(
        reactor: Reactor, config: Configuration, log: EventLog, journal: Journal, scan: JournalScan, keeper: VerifiedPrefixKeeper?,
        onWelcome: @escaping () -> Void
    ) -> WatchdogLink {
        let backlog = JournalBacklog(state: scan.state, files: scan.files, currentRun: log.runID)
        let link = WatchdogLink(
            reactor: reactor, socketPath: config.paths.watchdogSocket, log: log, journal: journal, backlog: backlog,
            firstMicros: scan.state.firstMicros, settings: config.worker, keeper: keeper)
        link.onWelcome = onWelcome
        log.forward = link.forward
        log.onDurable = { [unowned link] bytes, events in link.durable(bytes, events) }
        link.start()
        return link
    }

    /// Lines waiting for an ack, over all runs.
    public var unacked: Int { backlog.pending + (spill?.pending ?? 0) + (spilled?.count ?? 0) + current.pending }

    /// The journal bytes kept for un-acked events (the ceiling's measure): this run's un-acked
    /// lines, and the files of the earlier runs' backlog while it owes anything.
    public var unackedBytes: Int {
        backlog.unackedBytes + (spill?.unackedBytes ?? 0) + (spilled?.bytes ?? 0) + current.pendingBytes
    }

    /// Whether the un-acked ceiling holds the worker in OBSERVE_ONLY.
    public var overCeiling: Bool { ceiling.over }

    /// Connects now (and again whenever the connection is lost).
    public func start() { connect() }

    /// Takes one journaled event (`EventLog.forward`): heartbeats go out live, everything else
    /// joins the outbox and goes out when the connection can take it.
    public func forward(_ event: Event, _ line: [UInt8]) {
        if journalFirstMonotonic == nil { journalFirstMonotonic = MonotonicClock.nowNanos() }
        if event.isHeartbeat {
            // Never ahead of older lines still queued (a heartbeat raises the fence the watchdog
            // has seen): it waits, the latest one only, until the outbox is sent.
            guard phase == .streaming else { return }
            pendingHeartbeat = line
            pump()
            return
        }
        current.lines.append((event.seq ?? 0, line))
        current.pendingBytes += line.count
        if phase != .streaming, current.pendingBytes > spillBytes || spilled != nil { spillCurrent() }
        log.metrics?.unackedEvents(unacked)
        pump()
    }

    /// At a clean stop: hands the connection what the outbox still holds and waits, at most
    /// `timeoutSeconds`, until the socket has taken it, so the last events (the lock's release)
    /// reach a live watchdog now rather than with the next run. Blocks: call it only when the
    /// engine has stopped. What does not go out in time stays in the journal.
    public func flushBeforeExit(timeoutSeconds: Double) {
        log.commit()
        keeper?.write()
        let deadline = MonotonicClock.nowNanos() + Int64(timeoutSeconds * 1e9)
        while phase == .streaming, let c = connection, !c.isClosed {
            pump()
            if c.pendingOutput == 0, !backlog.streaming, spill?.streaming != true, current.sent == current.lines.count { return }
            let left = deadline - MonotonicClock.nowNanos()
            guard left > 0 else { return }
            var p = pollfd(fd: c.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(max(1, min(left / 1_000_000, 100))))
            c.send([])
        }
    }

    // MARK: connection

    private func connect() {
        let fd: Int32
        do {
            fd = try UnixSocket.connect(path: socketPath, nonBlocking: true)
        } catch {
            unreachableAtStart()
            problem("cannot reach the watchdog at \(socketPath): \(error); retrying, events are kept")
            scheduleReconnect()
            return
        }
        let c = LineConnection(fd: fd, reactor: reactor)
        connection = c
        phase = .awaitingWelcome
        c.onFrame = { [unowned self] frame in
            if case .line(let bytes) = frame { self.received(bytes) }
        }
        c.onDrained = { [unowned self] in self.pump() }
        c.onClose = { [unowned self] error in
            self.problem("the watchdog connection closed\(error.map { ": \($0)" } ?? ""); reconnecting, events are kept")
            self.disconnected()
        }
        let resume = backlog.resumeRunIDs
        let hello = Hello(role: .worker, market: log.market, runID: log.runID, pid: log.pid, fence: log.fence, resumeRuns: resume)
        c.send(WireCoding.line(hello))
    }

    /// Whether the link waits for the watchdog's welcome now.
    public var awaitingWelcome: Bool { phase == .awaitingWelcome }

    /// Drops the connection and says hello again at once (after the fence was raised).
    public func reconnect() {
        guard let c = connection else { return }
        c.onClose = nil
        c.close()
        connection = nil
        pendingHeartbeat = nil
        phase = .disconnected
        current.sent = current.head
        connect()
    }

    private func unreachableAtStart() {
        guard !welcomedOnce else { return }
        welcomedOnce = true
        onUnreachableAtStart?()
    }

    private func disconnected() {
        if phase == .awaitingWelcome { unreachableAtStart() }
        connection = nil
        pendingHeartbeat = nil
        phase = .disconnected
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        let wait = backoff
        backoff = min(backoff * 2, settings.reconnectMax)
        reactor.schedule(afterSeconds: wait) { [weak self] in self?.connect() }
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard case .object(let o)? = try? JSONParser.parse(bytes) else { return }
        switch o["type"]?.stringValue {
        case "welcome":
            guard phase == .awaitingWelcome, let applied = o["applied"]?.objectValue else { return }
            welcomedOnce = true
            // A watchdog from before `fence_high_water` names no mark: 0, so the gate opens.
            let asked = connection
            onHighWater?(o["fence_high_water"]?.intValue ?? 0, false)
            guard connection === asked else { return } // reconnected with a raised fence
            backlog.welcome { applied[$0]?.intValue }
            let appliedHere = applied[current.runID]?.intValue ?? 0
            if let spilled {
                // Everything of this run up to `spilled.through` is in the journal's files now.
                spill = JournalBacklog(
                    runs: [JournalBacklog.Run(runID: current.runID, lastSeq: spilled.through, acked: appliedHere)],
                    files: JournalBacklog.open(journalPath: journal.path))
                spill?.audit = backlog.audit
                self.spilled = nil
            } else {
                spill?.welcome { $0 == self.current.runID ? appliedHere : nil }
            }
            current.drop(through: appliedHere)
            current.sent = current.head
            phase = .streaming
            backoff = Self.firstBackoff
            log.metrics?.unackedEvents(unacked)
            if !lastProblem.isEmpty {
                Worker.note("\(log.market): connected to the watchdog at \(socketPath); re-sending \(unacked) event(s)")
                lastProblem = ""
            }
            pump()
            observeCeiling()
            onAnswer?()
            onWelcome?()
        case "ack":
            guard let runID = o["run_id"]?.stringValue, let seq = o["seq"]?.intValue else { return }
            if runID == current.runID {
                current.drop(through: seq)
                spill?.ack(runID: runID, seq: seq)
                if spill?.pending == 0 { spill = nil }
            } else {
                backlog.ack(runID: runID, seq: seq)
            }
            log.metrics?.unackedEvents(unacked)
            rotateJournalIfDue()
            observeCeiling()
            onAnswer?()
        case "clear_latch":
            guard phase == .streaming else { return }
            onClearLatch?(o["by"]?.stringValue ?? "an operator through the watchdog")
        case "error":
            if o["reason"]?.stringValue == RejectionReason.fenceRegression.rawValue, let mark = o["fence_high_water"]?.intValue {
                welcomedOnce = true
                onHighWater?(mark, true)
            }
            problem("the watchdog refused this worker: \(o["reason"]?.stringValue ?? "?"): \(o["detail"]?.stringValue ?? "")")
        default:
            return
        }
    }

    /// Hands the connection as many outbox lines as it takes: the earlier runs' backlog first
    /// (streamed from the journal), then this run's, then the latest heartbeat.
    func pump() {
        guard phase == .streaming, let c = connection else { return }
        var batch: [UInt8] = []
        while backlog.streaming {
            let room = Self.maxPendingOutput - c.pendingOutput - batch.count
            guard room > 0 else {
                // Paused: the connection calls onDrained (set at connect) once the socket took it all.
                if !batch.isEmpty { c.send(batch) }
                return
            }
            backlog.read(into: &batch, limit: batch.count + min(room, 64 * 1024))
            if batch.count >= 64 * 1024 || !backlog.streaming {
                if !batch.isEmpty { c.send(batch) }
                batch.removeAll(keepingCapacity: true)
                if c.isClosed { return }
            }
        }
        // Nothing overtakes a segment not checked yet (the audit's outcome pumps again).
        if backlog.waiting || spill?.waiting == true { return c.send(batch) }
        while let spill, spill.streaming {
            let room = Self.maxPendingOutput - c.pendingOutput - batch.count
            guard room > 0 else {
                if !batch.isEmpty { c.send(batch) }
                return
            }
            spill.read(into: &batch, limit: batch.count + min(room, 64 * 1024))
            if batch.count >= 64 * 1024 || !spill.streaming {
                if !batch.isEmpty { c.send(batch) }
                batch.removeAll(keepingCapacity: true)
                if c.isClosed { return }
            }
        }
        if spill?.waiting == true { return c.send(batch) }
        let run = current
        while run.sent < run.lines.count {
            if c.pendingOutput + batch.count >= Self.maxPendingOutput {
                if !batch.isEmpty { c.send(batch) }
                return
            }
            batch.append(contentsOf: run.lines[run.sent].bytes)
            run.sent += 1
            if batch.count >= 64 * 1024 {
                c.send(batch)
                batch.removeAll(keepingCapacity: true)
                if c.isClosed { return }
            }
        }
        if let heartbeat = pendingHeartbeat, c.pendingOutput + batch.count < Self.maxPendingOutput {
            batch.append(contentsOf: heartbeat)
            pendingHeartbeat = nil
        }
        if !batch.isEmpty { c.send(batch) }
    }

    /// Logs a problem once until it changes or the link recovers.
    func problem(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        Worker.note("\(log.market): \(message)")
    }
}
