import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Runs a market's strategy process and stands between it and execution (docs/STRATEGY.md): spawns
/// it tied to the worker (its own process group, SIGKILL when the worker dies, the socket on
/// descriptor 3), speaks the NDJSON protocol on the worker's reactor, decides every order through
/// the gate (mode, the engine's stream rules and order gate, `RiskLimits`), journals what crosses,
/// and carries out `StrategySupervision`'s actions (hung, restarts, the fail-safe).
///
/// Reads are bounded: one read of at most 64 KiB per readiness of the socket, so a flood never
/// holds the loop; a strategy that stops reading while the worker writes is killed as hung once
/// `maxPendingOutput` bytes wait for it.
final class StrategyHost {
    struct Context {
        var account: String
        var market: String
        var execution: String
        var streams: [StreamSpec]
        var runID: String
        /// The worker's environment the strategy inherits (minus what is the worker's alone).
        var environment: [String: String]
    }

    let spec: StrategySpec
    let context: Context
    let engine: Engine
    let log: EventLog
    let reactor: Reactor
    let note: (String, String, Bool) -> Void
    var supervision: StrategySupervision
    var risk: RiskLimits
    var process: ChildProcess?
    var connection: LineConnection?
    var timer: Reactor.TimerID?
    /// Client order ID -> the strategy's tag, for the strategy's open orders.
    var own: [String: String?] = [:]
    var lastPrice: Double?
    var sentMode: SystemMode?
    var counters = Counters()
    var reported = Counters()
    var lastStatus: Double = 0
    var journaledLogsThisSecond = (second: Int64(0), count: 0)
    var lastMalformedJournal: Double = -.infinity
    var killReason: String?
    static let maxPendingOutput = 4 << 20
    static let statusIntervalSeconds = 10.0

    struct Counters: Equatable {
        var ticks = 0
        var lines = 0
        var orders = 0
        var accepted = 0
        var rejected = 0
        var malformed = 0
        var logsDropped = 0
        var fills = 0
    }

    init(
        spec: StrategySpec, context: Context, engine: Engine, log: EventLog, reactor: Reactor,
        note: @escaping (_ message: String, _ event: String, _ problem: Bool) -> Void
    ) {
        self.spec = spec
        self.context = context
        self.engine = engine
        self.log = log
        self.reactor = reactor
        self.note = note
        supervision = StrategySupervision(spec: spec)
        risk = RiskLimits(spec.limits)
        engine.desk.observe { [unowned self] update in self.deskChanged(update) }
    }

    var now: Double { Double(reactor.nowNanos) / 1e9 }

    // MARK: life

    /// The worker holds the market and is active (READY): the strategy starts. The one hook a
    /// STANDBY worker calls only when it takes over.
    func activate() {
        guard supervision.phase == .idle else { return }
        carry(supervision.activate(now: now))
        scheduleEvaluation()
    }

    /// The worker stops being the active holder (a lease lost, back to STANDBY): the strategy is
    /// stopped as at the worker's stop, not counted as a crash, and `activate` starts it again.
    func deactivate() {
        guard supervision.phase != .idle else { return }
        supervision.deactivate()
        if let timer { reactor.cancel(timer) }
        timer = nil
        stopProcess(grace: 1, why: "stopped: the worker is no longer the market's active holder")
    }

    func scheduleEvaluation() {
        let interval = min(0.25, max(0.01, spec.heartbeatSeconds / 4))
        timer = reactor.schedule(afterSeconds: interval) { [unowned self] in
            self.carry(self.supervision.evaluate(now: self.now))
            self.modeMaybeChanged()
            self.reportStatus(force: false)
            self.scheduleEvaluation()
        }
    }

    func start() {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            carry(supervision.startFailed(now: now, why: "socketpair: \(SystemError("socketpair"))"))
            return
        }
        let ours = pair[0]
        let theirs = pair[1]
        _ = fcntl(ours, F_SETFL, fcntl(ours, F_GETFL) | O_NONBLOCK)
        var env = context.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "ROBOT_SUPERVISOR_PID"]
        {
            env.removeValue(forKey: key)
        }
        for (k, v) in spec.environment { env[k] = v }
        env["STRATEGY_FD"] = String(StrategyMessage.descriptor)
        env["ROBOT_MARKET"] = context.market
        env["ROBOT_ACCOUNT"] = context.account
        let child: ChildProcess
        do {
            child = try ChildProcess.spawnTied(
                argv: spec.command, environment: env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                tie: ChildProcess.Tie(
                    deathSignal: SIGKILL, passFD: theirs, targetFD: StrategyMessage.descriptor,
                    workingDirectory: spec.workingDirectory))
        } catch {
            close(ours)
            close(theirs)
            note("\(context.market): strategy: \(error)", EventType.strategyExited.rawValue, true)
            log.emit(.strategyExited, ["pid": .null, "why": .string("could not start: \(error)")])
            carry(supervision.startFailed(now: now, why: "\(error)"))
            return
        }
        close(theirs)
        process = child
        supervision.started(now: now)
        killReason = nil
        let c = LineConnection(fd: ours, reactor: reactor)
        c.onFrame = { [unowned self] frame in self.frame(frame) }
        c.onClose = { _ in }
        connection = c
        if child.pidfd >= 0 {
            reactor.watch(child.pidfd) { [unowned self] _ in self.reapIfExited() }
        }
        log.emit(
            .strategyStarted,
            [
                "pid": .int(Int64(child.pid)), "command": .strings(spec.command), "working_directory": .string(spec.workingDirectory),
                "start": .int(Int64(supervision.starts)),
            ])
        note(
            "\(context.market): strategy started, pid \(child.pid): \(spec.command.joined(separator: " "))",
            EventType.strategyStarted.rawValue, false)
        send(StrategyOutput.line("hello", hello()))
        sentMode = engine.mode
    }

    func hello() -> JSONObject {
        let l = spec.limits
        var positions = JSONObject()
        for s in context.streams { positions[s.id] = .double(engine.positions[s.id] ?? 0) }
        return [
            "protocol": .int(StrategyMessage.version), "account": .string(context.account), "market": .string(context.market),
            "execution_instrument": .string(context.execution),
            "streams": .array(context.streams.map { .object(["id": .string($0.id), "instrument": .string($0.instrument)]) }),
            "mode": .string(engine.mode.rawValue), "mode_reason": .string(engine.modeReason), "fence": .int(log.fence),
            "run_id": .string(context.runID), "positions": .object(positions),
            "open_orders": .array(engine.openOrders.map { StrategyOutput.order($0, tag: own[$0.clientOrderID] ?? nil) }),
            "heartbeat_seconds": .double(spec.heartbeatSeconds),
            "limits": .object([
                "max_order_quantity": l.maxOrderQuantity.map { .int(Int64($0)) } ?? .null,
                "max_position": l.maxPosition.map { .int(Int64($0)) } ?? .null,
                "max_open_orders": l.maxOpenOrders.map { .int(Int64($0)) } ?? .null,
                "max_orders_per_minute": l.maxOrdersPerMinute.map { .int(Int64($0)) } ?? .null,
                "max_notional": l.maxNotional.map { .double($0) } ?? .null,
                "max_rejections_per_minute": .int(Int64(l.maxRejectionsPerMinute)),
            ]),
        ]
    }

    func reapIfExited() {
        guard let child = process, let status = child.reap() else { return }
        if child.pidfd >= 0 { reactor.unwatch(child.pidfd) }
        child.closePidfd()
        // Anything it left in its group goes with it.
        child.signalGroup(SIGKILL)
        process = nil
        connection?.close()
        connection = nil
        let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
        let why = killReason.map { "was hung (\($0)) and killed" } ?? how
        let actions = supervision.exited(now: now, why: why)
        var data: JSONObject = [
            "pid": .int(Int64(child.pid)), "why": .string(why), "crashes_in_window": .int(Int64(supervision.crashes.count)),
        ]
        if case .backingOff(let until) = supervision.phase { data["restart_in_seconds"] = .double(max(0, until - now)) }
        log.emit(.strategyExited, data)
        note("\(context.market): strategy pid \(child.pid) \(why)", EventType.strategyExited.rawValue, true)
        carry(actions)
    }

    /// Stops the strategy before the worker stops: `shutdown`, half of `grace` for it to exit,
    /// SIGTERM to its group, the other half, then SIGKILL to the group.
    func stop(grace: Double = 1) {
        supervision.stop()
        if let timer { reactor.cancel(timer) }
        timer = nil
        stopProcess(grace: grace, why: "stopped with the worker")
    }

    func stopProcess(grace: Double, why: String) {
        guard let child = process else { return }
        send(StrategyOutput.line("shutdown", ["reason": .string("the worker is stopping")]))
        func exit(within seconds: Double) -> Int32? {
            let deadline = MonotonicClock.nowNanos() + Int64(seconds * 1e9)
            var status = child.reap()
            while status == nil, MonotonicClock.nowNanos() < deadline {
                var pause = timespec(tv_sec: 0, tv_nsec: 2_000_000)
                nanosleep(&pause, nil)
                status = child.reap()
            }
            return status
        }
        // Half the grace to leave on `shutdown`, half after SIGTERM; then SIGKILL.
        var status = exit(within: grace / 2)
        if status == nil {
            child.signalGroup(SIGTERM)
            status = exit(within: grace / 2)
        }
        child.signalGroup(SIGKILL)
        if status == nil { _ = waitpid(child.pid, nil, 0) }
        if child.pidfd >= 0 { reactor.unwatch(child.pidfd) }
        child.closePidfd()
        process = nil
        connection?.close()
        connection = nil
        log.emit(.strategyExited, ["pid": .int(Int64(child.pid)), "why": .string(why)])
    }

    /// An operator cleared the latch: a strategy stopped by its crash loop may start again.
    func latchCleared() { carry(supervision.latchCleared(now: now)) }

    func carry(_ actions: [StrategySupervision.Action]) {
        for action in actions {
            switch action {
            case .start:
                start()
            case .kill(let reason):
                killReason = reason
                log.emit(.strategyStatus, status(extra: ["hung": .string(reason)]))
                process?.signalGroup(SIGKILL)
            case .hold(let reason):
                for (id, _) in own { _ = engine.cancel(id) }
                own = [:]
                engine.holdForStrategy(reason)
                modeMaybeChanged()
            case .release:
                engine.holdForStrategy(nil)
                modeMaybeChanged()
            case .latch(let reason):
                note("\(context.market): fail-safe \(StrategySupervision.trigger): \(reason)", "FAILSAFE_TRIGGERED", true)
                engine.strategyMisbehaving(reason)
                modeMaybeChanged()
            }
        }
    }

    // MARK: worker to strategy

    /// `durable`: the lines this message reports were synced already (an order's answer).
    func send(durable: Bool = false, _ line: [UInt8]) {
        guard let c = connection else { return }
        // What the strategy hears of (an answer, a fill) is durable first; a no-op when nothing waits.
        if !durable { log.commit() }
        c.send(line)
        if c.pendingOutput > Self.maxPendingOutput, killReason == nil, supervision.isRunning {
            killReason = "it does not read its socket: \(c.pendingOutput) bytes wait for it"
            supervision.killed()
            log.emit(.strategyStatus, status(extra: ["hung": .string(killReason!)]))
            process?.signalGroup(SIGKILL)
        }
    }

    /// A tick from the feed (after the engine saw it): sent once the strategy is ready.
    func tick(_ t: Tick) {
        lastPrice = t.price
        guard supervision.isReady else { return }
        counters.ticks += 1
        send(StrategyOutput.tick(t, seq: Int64(counters.ticks), monotonicNanos: reactor.nowNanos))
    }

    /// Sends `mode` when the engine's mode is not the one the strategy was last told.
    func modeMaybeChanged() {
        guard connection != nil, sentMode != engine.mode else { return }
        sentMode = engine.mode
        send(StrategyOutput.line("mode", ["mode": .string(engine.mode.rawValue), "reason": .string(engine.modeReason)]))
    }

    /// An order or position change of the order desk (as journaled): the strategy hears of its own orders.
    func deskChanged(_ update: OrderDesk.Update) {
        guard update.event != .orderPlaced, let order = update.order else { return }
        orderChanged(order)
    }

    func orderChanged(_ order: SimOrder) {
        guard let tag = own[order.clientOrderID] else { return }
        let terminal = [.filled, .cancelled, .timedOut, .rejected].contains(order.status)
        if terminal { own[order.clientOrderID] = nil }
        send(
            StrategyOutput.line(
                "order_update",
                [
                    "client_order_id": .string(order.clientOrderID), "tag": .optional(tag),
                    "status": .string(order.status.rawValue), "order": StrategyOutput.order(order, tag: tag),
                ]))
        guard order.status == .filled, let price = order.fillPrice else { return }
        counters.fills += 1
        let position = engine.positions[order.stream] ?? 0
        send(
            StrategyOutput.line(
                "fill",
                [
                    "client_order_id": .string(order.clientOrderID), "tag": .optional(tag), "stream": .string(order.stream),
                    "side": .string(order.side.rawValue), "quantity": .int(Int64(order.quantity)), "price": .double(price),
                ]))
        send(
            StrategyOutput.line(
                "position",
                ["stream": .string(order.stream), "position": .double(position), "market_position": .double(marketPosition)]))
    }

    var marketPosition: Double { engine.positions.values.reduce(0, +) }
}

extension StrategyHost {
    /// The host of the market's configured strategy, nil when it has none.
    static func make(_ parts: Worker.Parts) -> StrategyHost? {
        guard let spec = parts.spec.strategy else { return nil }
        let diagnostics = parts.diagnostics
        return StrategyHost(
            spec: spec,
            context: Context(
                account: parts.config.account.name, market: parts.canonical, execution: parts.executionOverride ?? parts.spec.execution,
                streams: parts.spec.streams, runID: parts.log.runID, environment: parts.options.environment),
            engine: parts.engine, log: parts.log, reactor: parts.reactor,
            note: { message, event, problem in diagnostics.note(message, event: event, problem ? .error : .notice) })
    }
}
