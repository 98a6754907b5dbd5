import Wire

/// One line from the strategy (docs/STRATEGY.md, "Strategy to worker"): `ready`, `order`, `cancel`,
/// `log`, `heartbeat`. Parsed strictly; a line that is not one of them is a `StrategyMessage.Malformed`
/// the worker counts and answers.
public enum StrategyMessage: Sendable, Equatable {
    /// Protocol version spoken on both sides: every line carries `"v":1`.
    public static let version: Int64 = 1
    /// The descriptor the strategy finds its socket on (also named by `STRATEGY_FD`).
    public static let descriptor: Int32 = 3

    case ready
    case order(OrderIntent)
    case cancel(clientOrderID: String, tag: String?)
    case log(level: String, message: String)
    case heartbeat

    public struct OrderIntent: Sendable, Equatable {
        /// nil: the market's first stream.
        public var stream: String?
        public var side: SimOrder.Side
        public var quantity: Int
        /// nil for a market order.
        public var limitPrice: Double?
        /// The strategy's own reference, echoed in the answer and every update of the order.
        public var tag: String?
        public init(stream: String?, side: SimOrder.Side, quantity: Int, limitPrice: Double?, tag: String?) {
            self.stream = stream
            self.side = side
            self.quantity = quantity
            self.limitPrice = limitPrice
            self.tag = tag
        }
    }

    /// Why a line was not understood; `tag` when the line was an order or cancel that carried one.
    public struct Malformed: Error, Sendable, Equatable {
        public var detail: String
        public var tag: String?
        /// True when the line was an order (it then gets an `order_rejected`, its one answer).
        public var isOrder = false
    }

    /// Parses one line (newline excluded).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> Result<StrategyMessage, Malformed> {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch { return .failure(Malformed(detail: "not JSON: \(error.detail)", tag: nil)) }
        guard case .object(let o) = value else { return .failure(Malformed(detail: "expected a JSON object", tag: nil)) }
        let tag = o["tag"]?.stringValue
        let isOrder = o["type"]?.stringValue == "order"
        func bad(_ detail: String) -> Result<StrategyMessage, Malformed> {
            .failure(Malformed(detail: detail, tag: tag, isOrder: isOrder))
        }
        if let v = o["v"], v.intValue != version { return bad("v: expected \(version), the protocol version (docs/STRATEGY.md)") }
        guard let type = o["type"]?.stringValue else { return bad("type: missing; expected ready, order, cancel, log or heartbeat") }
        if let t = o["tag"], t.stringValue == nil || t.stringValue!.utf8.count > 64 {
            return bad("tag: expected a string of at most 64 bytes")
        }
        switch type {
        case "ready": return .success(.ready)
        case "heartbeat": return .success(.heartbeat)
        case "log":
            guard let message = o["message"]?.stringValue else { return bad("log: message: expected a string") }
            let level = o["level"]?.stringValue ?? "info"
            guard ["debug", "info", "notice", "warning", "error"].contains(level) else {
                return bad("log: level: expected debug, info, notice, warning or error")
            }
            return .success(.log(level: level, message: String(message.prefix(1024))))
        case "cancel":
            guard let id = o["client_order_id"]?.stringValue, !id.isEmpty else { return bad("cancel: client_order_id: expected a string") }
            return .success(.cancel(clientOrderID: id, tag: tag))
        case "order":
            guard let sideText = o["side"]?.stringValue, let side = SimOrder.Side(rawValue: sideText.uppercased()) else {
                return bad("order: side: expected \"buy\" or \"sell\"")
            }
            guard let q = o["quantity"], case .int(let quantity) = q, quantity > 0, quantity <= 1_000_000_000 else {
                return bad("order: quantity: expected a whole number from 1")
            }
            let kind = o["order_type"]?.stringValue ?? (o["limit_price"] == nil ? "market" : "limit")
            var limit: Double?
            switch kind {
            case "market":
                if let l = o["limit_price"], l != .null { return bad("order: limit_price: a market order has none") }
            case "limit":
                guard let l = o["limit_price"]?.doubleValue, l.isFinite, l > 0 else {
                    return bad("order: limit_price: expected a positive price for a limit order")
                }
                limit = l
            default:
                return bad("order: order_type: expected \"market\" or \"limit\"")
            }
            var stream: String?
            if let s = o["stream"], s != .null {
                guard let text = s.stringValue else { return bad("order: stream: expected a stream id") }
                stream = text
            }
            return .success(.order(OrderIntent(stream: stream, side: side, quantity: Int(quantity), limitPrice: limit, tag: tag)))
        default:
            return bad("type: \"\(type.prefix(32))\" is not one of ready, order, cancel, log, heartbeat")
        }
    }
}

/// The lines the worker sends the strategy (docs/STRATEGY.md, "Worker to strategy").
public enum StrategyOutput {
    public static func line(_ type: String, _ members: JSONObject) -> [UInt8] {
        var o: JSONObject = ["v": .int(StrategyMessage.version), "type": .string(type)]
        for (k, v) in members.members { o[k] = v }
        var out: [UInt8] = []
        out.reserveCapacity(192)
        JSONValue.object(o).write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// A tick, hand-written: the one line sent at the feed's rate.
    public static func tick(_ t: Tick, seq: Int64, monotonicNanos: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        out.append(contentsOf: #"{"v":1,"type":"tick","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","instrument":""#.utf8)
        out.append(contentsOf: t.instrument.utf8)
        out.append(contentsOf: #"","price":"#.utf8)
        JSONValue.double(t.price).write(into: &out)
        out.append(contentsOf: #","size":"#.utf8)
        JSONValue.double(t.size).write(into: &out)
        out.append(contentsOf: #","time":""#.utf8)
        out.append(contentsOf: t.time.utf8)
        out.append(contentsOf: #"","mono_ns":"#.utf8)
        out.append(contentsOf: String(monotonicNanos).utf8)
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    public static func order(_ o: SimOrder, tag: String?) -> JSONValue {
        .object([
            "client_order_id": .string(o.clientOrderID), "stream": .string(o.stream), "symbol": .string(o.symbol),
            "side": .string(o.side.rawValue), "quantity": .int(Int64(o.quantity)), "limit_price": o.limit.map { .double($0) } ?? .null,
            "status": .string(o.status.rawValue), "tag": .optional(tag),
        ])
    }
}
