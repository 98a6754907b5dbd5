import Platform
import RobotConfig
import Wire

/// The strategy's lines into the worker: parsed, counted, and each order decided by the gate
/// (docs/STRATEGY.md, "The gate"): ready, the mode, `RiskLimits`, then `Engine.place` (the order
/// gate and the stream rules). Every order gets exactly one answer, journaled with it.
extension StrategyHost {
    // MARK: strategy to worker

    func frame(_ frame: LineFramer.Frame) {
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

    func handle(_ message: StrategyMessage, _ t: Double) {
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

    func malformed(_ m: StrategyMessage.Malformed, _ t: Double) {
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
    func order(_ intent: StrategyMessage.OrderIntent, _ t: Double) {
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
        // STRATEGY_ORDER is journaled beside ORDER_PLACED, and the sync before the venue hears of the
        // order makes both durable: one fdatasync per accepted order, before its answer.
        let placement = engine.place(stream: intent.stream, side: intent.side, quantity: intent.quantity, limit: intent.limitPrice) {
            [unowned self] o in
            self.log.emit(.strategyOrder, self.intentData(intent, ["outcome": "accepted", "client_order_id": .string(o.clientOrderID)]))
        }
        switch placement {
        case .placed(let o):
            risk.recordAccepted(now: t)
            own[o.clientOrderID] = intent.tag
            counters.accepted += 1
            // Its lines are durable already; lines journaled since (the SIM venue's ORDER_ACCEPTED)
            // are not what this answer reports, and go with the iteration's group commit.
            send(
                durable: true,
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

    func reject(_ intent: StrategyMessage.OrderIntent?, tag: String?, reason: String, limit: String?, detail: String, _ t: Double) {
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

    func intentData(_ i: StrategyMessage.OrderIntent, _ extra: JSONObject) -> JSONObject {
        var d: JSONObject = [
            "tag": .optional(i.tag), "stream": .optional(i.stream), "side": .string(i.side.rawValue), "quantity": .int(Int64(i.quantity)),
            "order_type": .string(i.limitPrice == nil ? "market" : "limit"), "limit_price": i.limitPrice.map { .double($0) } ?? .null,
        ]
        for (k, v) in extra.members { d[k] = v }
        return d
    }

    // MARK: summary

    func status(extra: JSONObject) -> JSONObject {
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
    func reportStatus(force: Bool) {
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
