import Wire

/// The control socket's text, read and written by hand (`JSONParser`, `JSONValue`): the same
/// requests and answers as the types' `Codable` forms (`WorkerControlTextTests` holds them to it),
/// without Foundation's coders, whose cost was most of the worker's own part of an order's round
/// trip (docs/BENCHMARKS.md, "Order round trip through the venue").
extension WorkerRequest {
    /// The request on one line, or nil where `JSONDecoder` would refuse it: not an object, `v` or
    /// `type` missing, a field of the wrong type (`null` stands for absent, as for the decoder).
    public static func parse(_ line: [UInt8]) -> WorkerRequest? {
        guard case .object(let o)? = try? JSONParser.parse(line), case .int(let v)? = o["v"], case .string(let type)? = o["type"]
        else { return nil }
        func field<T>(_ key: String, _ read: (JSONValue) -> T?) -> T?? {
            guard let value = o[key], value != .null else { return .some(nil) }
            guard let read = read(value) else { return nil }
            return .some(read)
        }
        guard let side = field("side", \.stringValue), let quantity = field("quantity", { $0.intValue.flatMap { Int(exactly: $0) } }),
            let stream = field("stream", \.stringValue), let limit = field("limit", \.doubleValue),
            let clientOrderID = field("client_order_id", \.stringValue)
        else { return nil }
        var r = WorkerRequest(type: type, side: side, quantity: quantity, stream: stream, limit: limit, clientOrderID: clientOrderID)
        r.v = v
        return r
    }
}

extension WorkerResponse {
    /// The answer as one line: compact JSON, keys sorted at every level (as the encoder wrote
    /// them), absent optionals left out.
    public var line: [UInt8] {
        var o: JSONObject = [
            "v": .int(v), "type": .string(type), "ok": .bool(ok), "outcome": .string(outcome), "message": .string(message),
            "mode": .string(mode), "orders": .array(orders.map(\.snapshotJSON)),
        ]
        if let positions { o["positions"] = .array(positions.map(\.codableJSON)) }
        if let ledger {
            var l: JSONObject = [:]
            for key in ledger.keys { l[key] = .double(ledger[key] ?? 0) }
            o["ledger"] = .object(l)
        }
        var out: [UInt8] = []
        out.reserveCapacity(256 + orders.count * 256)
        Self.sorted(.object(o)).write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    static func sorted(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            var s: JSONObject = [:]
            for m in o.members.sorted(by: { $0.key < $1.key }) { s[m.key] = sorted(m.value) }
            return .object(s)
        case .array(let items): return .array(items.map(sorted))
        default: return v
        }
    }
}

extension VenuePosition {
    /// The position with the keys of its `Codable` form (`json`, the venue protocol's, adds `side`).
    var codableJSON: JSONValue {
        .object([
            "account": .string(account), "market": .string(market), "symbol": .string(symbol), "quantity": .int(Int64(quantity)),
            "average_price": .double(averagePrice), "realized_pnl": .double(realizedPnL),
        ])
    }
}
