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

    private let spec: StrategySpec
    private let context: Context
    private let engine: Engine
    private let log: EventLog
    private let reactor: Reactor
    private let note: (String, String, Bool) -> Void
    private var supervision: StrategySupervision
    private var risk: RiskLimits
    private var process: ChildProcess?
    private var connection: LineConnection?
    private var timer: Reactor.TimerID?
    /// Client order ID -> the strategy's tag, for the strategy's open orders.
    private var own: [String: String?] = [:]
    private var lastPrice: Double?
    private var sentMode: SystemMode?
    private var counters = Counters()
    private var reported = Counters()
    private var lastStatus: Double = 0
    private var journaledLogsThisSecond = (second: Int64(0), count: 0)
    private var lastMalformedJournal: Double = -.infinity
    private var killReason: String?
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
        engine.onOrderChange = { [unowned self] order in self.orderChanged(order) }
    }

    private var now: Double { Double(reactor.nowNanos) / 1e9 }

    // MARK: life

    /// The worker holds the market and is active (READY): the strategy starts. The one hook a
    /// STANDBY worker calls only when it takes over.
    func activate() {
        carry(supervision.activate(now: now))
        scheduleEvaluation()
    }

    private func scheduleEvaluation() {
        let interval = min(0.25, max(0.01, spec.heartbeatSeconds / 4))
        timer = reactor.schedule(afterSeconds: interval) { [unowned self] in
            self.carry(self.supervision.evaluate(now: self.now))
            self.modeMaybeChanged()
            self.reportStatus(force: false)
            self.scheduleEvaluation()
        }
    }

    private func start() {
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

    private func hello() -> JSONObject {
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

    private func reapIfExited() {
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

    /// Stops the strategy before the worker stops: `shutdown`, SIGTERM to its group, up to
    /// `grace` seconds for it to exit, then SIGKILL.
    func stop(grace: Double = 1) {
        supervision.stop()
        if let timer { reactor.cancel(timer) }
        guard let child = process else { return }
        send(StrategyOutput.line("shutdown", ["reason": .string("the worker is stopping")]))
        child.signalGroup(SIGTERM)
        let deadline = MonotonicClock.nowNanos() + Int64(grace * 1e9)
        var status = child.reap()
        while status == nil, MonotonicClock.nowNanos() < deadline {
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
            status = child.reap()
        }
        child.signalGroup(SIGKILL)
        if status == nil { _ = waitpid(child.pid, nil, 0) }
        if child.pidfd >= 0 { reactor.unwatch(child.pidfd) }
        child.closePidfd()
        process = nil
        connection?.close()
        connection = nil
        log.emit(.strategyExited, ["pid": .int(Int64(child.pid)), "why": .string("stopped with the worker")])
    }

    /// An operator cleared the latch: a strategy stopped by its crash loop may start again.
    func latchCleared() { carry(supervision.latchCleared(now: now)) }

    private func carry(_ actions: [StrategySupervision.Action]) {
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

    private func send(_ line: [UInt8]) {
        guard let c = connection else { return }
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

    private func orderChanged(_ order: SimOrder) {
        guard let tag = own[order.clientOrderID] else { return }
        if order.status != .open { own[order.clientOrderID] = nil }
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

    private var marketPosition: Double { engine.positions.values.reduce(0, +) }

    // MARK: strategy to worker

    private func frame(_ frame: LineFramer.Frame) {
        let t = now
        supervision.message(now: t)
        counters.lines += 1
        switch frame {
        case .tooLong(let n):
            malformed(StrategyMessage.Malformed(detail: "line of \(n) bytes is over the 64 KiB limit"), t)
        case .line(let bytes):
            switch StrategyMessage.parse(bytes) {
            case .failure(let m): malformed(m, t)
            case .success(let message): handle(message, t)
            }
        }
    }

    private func handle(_ message: StrategyMessage, _ t: Double) {
        switch message {
        case .heartbeat:
            break
        case .ready:
            let wasReady = supervision.isReady
            let actions = supervision.ready(now: t)
            if !wasReady, supervision.isReady {
                log.emit(.strategyReady, ["pid": .int(Int64(process?.pid ?? 0)), "start": .int(Int64(supervision.starts))])
                note("\(context.market): strategy ready", EventType.strategyReady.rawValue, false)
            }
            carry(actions)
            modeMaybeChanged()
        case .log(let level, let text):
            let second = Int64(t)
            if journaledLogsThisSecond.second != second { journaledLogsThisSecond = (second, 0) }
            guard journaledLogsThisSecond.count < 10 else {
                counters.logsDropped += 1
                return
            }
            journaledLogsThisSecond.count += 1
            log.emit(.strategyLog, ["level": .string(level), "message": .string(text)])
        case .cancel(let id, let tag):
            guard own[id] != nil, engine.cancel(id) != nil else {
                log.emit(.strategyCancel, ["client_order_id": .string(id), "tag": .optional(tag), "outcome": .string("not_found")])
                send(
                    StrategyOutput.line(
                        "cancel_rejected",
                        [
                            "client_order_id": .string(id), "tag": .optional(tag), "reason": .string("NOT_FOUND"),
                            "detail": .string("no open order \(id) of this strategy"),
                        ]))
                return
            }
            log.emit(.strategyCancel, ["client_order_id": .string(id), "tag": .optional(tag), "outcome": .string("cancelled")])
            send(StrategyOutput.line("cancel_accepted", ["client_order_id": .string(id), "tag": .optional(tag)]))
        case .order(let intent):
            order(intent, t)
        }
    }

    private func malformed(_ m: StrategyMessage.Malformed, _ t: Double) {
        counters.malformed += 1
        if m.isOrder {
            counters.orders += 1
            reject(nil, tag: m.tag, reason: "MALFORMED", limit: nil, detail: m.detail, t)
            return
        }
        if t - lastMalformedJournal >= 1 {
            lastMalformedJournal = t
            log.emit(.strategyMalformed, ["detail": .string(m.detail), "malformed_total": .int(Int64(counters.malformed))])
        }
        send(
            StrategyOutput.line(
                "error", ["reason": .string("MALFORMED"), "detail": .string(m.detail), "malformed_total": .int(Int64(counters.malformed))]))
        carry(supervision.rejected(now: t))
    }

    /// The gate: every order gets exactly one answer.
    private func order(_ intent: StrategyMessage.OrderIntent, _ t: Double) {
        counters.orders += 1
        guard supervision.isReady else {
            return reject(intent, tag: intent.tag, reason: "NOT_READY", limit: nil, detail: "send ready before orders", t)
        }
        guard engine.mode.mayExecute else {
            return reject(
                intent, tag: intent.tag, reason: "MODE", limit: nil,
                detail: "the worker is in \(engine.mode.rawValue) (\(engine.modeReason)); new orders need AGGRESSIVE", t)
        }
        var buys = 0
        var sells = 0
        for o in engine.openOrders {
            if o.side == .buy { buys += o.quantity } else { sells += o.quantity }
        }
        let book = RiskLimits.Book(
            position: Int(marketPosition.rounded()), openOrders: engine.openOrders.count, openBuyQuantity: buys, openSellQuantity: sells)
        if let breach = risk.check(
            RiskLimits.Order(quantity: intent.quantity, isBuy: intent.side == .buy, price: intent.limitPrice ?? lastPrice), book: book,
            now: t)
        {
            return reject(intent, tag: intent.tag, reason: "RISK_LIMIT", limit: breach.limit, detail: breach.detail, t)
        }
        switch engine.place(stream: intent.stream, side: intent.side, quantity: intent.quantity, limit: intent.limitPrice) {
        case .placed(let o):
            risk.recordAccepted(now: t)
            own[o.clientOrderID] = intent.tag
            counters.accepted += 1
            log.emit(.strategyOrder, intentData(intent, ["outcome": "accepted", "client_order_id": .string(o.clientOrderID)]))
            send(
                StrategyOutput.line(
                    "order_accepted",
                    [
                        "tag": .optional(intent.tag), "client_order_id": .string(o.clientOrderID),
                        "order": StrategyOutput.order(o, tag: intent.tag),
                        "mono_ns": .int(reactor.nowNanos),
                    ]))
        case .blocked(let mode):
            reject(
                intent, tag: intent.tag, reason: "MODE", limit: nil, detail: "the worker is in \(mode.rawValue) (\(engine.modeReason))", t)
        case .rejected(let why):
            reject(intent, tag: intent.tag, reason: "EXECUTION_REJECTED", limit: nil, detail: why, t)
        case .refused(let refusal):
            reject(intent, tag: intent.tag, reason: refusal.reason, limit: nil, detail: refusal.detail, t)
        }
    }

    private func reject(_ intent: StrategyMessage.OrderIntent?, tag: String?, reason: String, limit: String?, detail: String, _ t: Double) {
        counters.rejected += 1
        var extra: JSONObject = ["outcome": "rejected", "reason": .string(reason), "detail": .string(detail)]
        if let limit { extra["limit"] = .string(limit) }
        log.emit(.strategyOrder, intent.map { intentData($0, extra) } ?? extra.adding("tag", .optional(tag)))
        var answer: JSONObject = [
            "tag": .optional(tag), "reason": .string(reason), "detail": .string(detail), "mono_ns": .int(reactor.nowNanos),
        ]
        if let limit { answer["limit"] = .string(limit) }
        send(StrategyOutput.line("order_rejected", answer))
        carry(supervision.rejected(now: t))
    }

    private func intentData(_ i: StrategyMessage.OrderIntent, _ extra: JSONObject) -> JSONObject {
        var d: JSONObject = [
            "tag": .optional(i.tag), "stream": .optional(i.stream), "side": .string(i.side.rawValue), "quantity": .int(Int64(i.quantity)),
            "order_type": .string(i.limitPrice == nil ? "market" : "limit"), "limit_price": i.limitPrice.map { .double($0) } ?? .null,
        ]
        for (k, v) in extra.members { d[k] = v }
        return d
    }

    // MARK: summary

    private func status(extra: JSONObject) -> JSONObject {
        var d: JSONObject = [
            "pid": process.map { .int(Int64($0.pid)) } ?? .null, "ready": .bool(supervision.isReady),
            "ticks_sent": .int(Int64(counters.ticks)), "lines_received": .int(Int64(counters.lines)),
            "orders": .int(Int64(counters.orders)),
            "accepted": .int(Int64(counters.accepted)), "rejected": .int(Int64(counters.rejected)),
            "malformed": .int(Int64(counters.malformed)),
            "fills": .int(Int64(counters.fills)), "logs_dropped": .int(Int64(counters.logsDropped)),
            "starts": .int(Int64(supervision.starts)),
            "market_position": .double(marketPosition),
        ]
        for (k, v) in extra.members { d[k] = v }
        return d
    }

    /// `STRATEGY_STATUS` every `statusIntervalSeconds` while anything changed: the ticks are journaled this way, not one by one.
    private func reportStatus(force: Bool) {
        let t = now
        guard force || (t - lastStatus >= Self.statusIntervalSeconds && counters != reported) else { return }
        lastStatus = t
        reported = counters
        log.emit(.strategyStatus, status(extra: [:]))
    }
}

extension JSONObject {
    fileprivate func adding(_ key: String, _ value: JSONValue) -> JSONObject {
        var o = self
        o[key] = value
        return o
    }
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
