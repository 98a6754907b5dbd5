/// One event: the envelope of docs/PROTOCOL.md ("Events") and its `data` object.
///
/// On the wire and in the journal an event is one line:
/// ```
/// {"v":1,"type":"HEARTBEAT","market":"ES","run_id":"…","pid":41,"fence":3,"ts":"2026-11-21T07:15:00.123456Z","data":{…}}
/// ```
/// `seq` is 1, 2, 3… per run on every event but `HEARTBEAT`, which has none.
public struct Event: Sendable, Equatable {
    public var type: String
    public var market: String
    public var runID: String
    public var pid: Int32
    public var fence: Int64
    public var seq: Int64?
    public var ts: String
    /// The `data` object. A line decoded on the fast path keeps it as its own validated bytes
    /// until something reads it (the watchdog reads it for a few event types only), and is parsed
    /// on each read; an event built in code, or decoded generally, holds the object.
    public var data: JSONObject {
        get {
            switch payload {
            case .object(let object): return object
            case .bytes(let bytes): return Self.parse(data: bytes)
            }
        }
        set { payload = .object(newValue) }
    }
    /// Internal: `Event+DataString` reads the bytes in place.
    var payload: Payload

    enum Payload: Sendable {
        case object(JSONObject)
        /// The bytes of the line's `data` object, which `JSONSkimmer` found valid.
        case bytes([UInt8])
    }

    public init(type: String, market: String, runID: String, pid: Int32, fence: Int64, seq: Int64?, ts: String, data: JSONObject) {
        self.init(type: type, market: market, runID: runID, pid: pid, fence: fence, seq: seq, ts: ts, payload: .object(data))
    }

    /// An event whose `data` is still the bytes `JSONSkimmer` validated (`EnvelopeScanner`).
    init(type: String, market: String, runID: String, pid: Int32, fence: Int64, seq: Int64?, ts: String, dataBytes: [UInt8]) {
        self.init(type: type, market: market, runID: runID, pid: pid, fence: fence, seq: seq, ts: ts, payload: .bytes(dataBytes))
    }

    private init(type: String, market: String, runID: String, pid: Int32, fence: Int64, seq: Int64?, ts: String, payload: Payload) {
        self.type = type
        self.market = market
        self.runID = runID
        self.pid = pid
        self.fence = fence
        self.seq = seq
        self.ts = ts
        self.payload = payload
    }

    private static func parse(data bytes: [UInt8]) -> JSONObject {
        let result: Result<JSONObject, LineError> = bytes.withUnsafeBufferPointer { p in
            do throws(LineError) { return .success(try JSONParser.parseObject(p, at: 0, depth: 2).0) } catch { return .failure(error) }
        }
        switch result {
        case .success(let object): return object
        case .failure(let error):
            // JSONSkimmer accepts a subset of what the parser accepts (tests and the fuzzer hold it to that).
            preconditionFailure(
                "an event's data passed JSONSkimmer but not JSONParser (\(error)): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// Equal envelopes and equal `data` objects, however each holds its `data`.
    public static func == (a: Event, b: Event) -> Bool {
        a.type == b.type && a.market == b.market && a.runID == b.runID && a.pid == b.pid && a.fence == b.fence && a.seq == b.seq
            && a.ts == b.ts && a.data == b.data
    }

    public var isHeartbeat: Bool { type == EventType.heartbeat.rawValue }

    /// The event's line, newline included.
    public func encodedLine() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: Self.prefixV)
        out.append(contentsOf: String(WireFormat.version).utf8)
        out.append(contentsOf: Array(",\"type\":".utf8))
        JSONValue.writeString(type, into: &out)
        out.append(contentsOf: Array(",\"market\":".utf8))
        JSONValue.writeString(market, into: &out)
        out.append(contentsOf: Array(",\"run_id\":".utf8))
        JSONValue.writeString(runID, into: &out)
        out.append(contentsOf: Array(",\"pid\":".utf8))
        out.append(contentsOf: String(pid).utf8)
        out.append(contentsOf: Array(",\"fence\":".utf8))
        out.append(contentsOf: String(fence).utf8)
        if let seq {
            out.append(contentsOf: Array(",\"seq\":".utf8))
            out.append(contentsOf: String(seq).utf8)
        }
        out.append(contentsOf: Array(",\"ts\":".utf8))
        JSONValue.writeString(ts, into: &out)
        out.append(contentsOf: Array(",\"data\":".utf8))
        switch payload {
        case .object(let object): object.write(into: &out)
        case .bytes(let bytes): out.append(contentsOf: bytes)
        }
        out.append(contentsOf: Array("}\n".utf8))
        return out
    }

    private static let prefixV = Array("{\"v\":".utf8)

    /// Parses and validates one line (newline excluded) as an event.
    ///
    /// Throws `LineError` with the reason it is counted under: `invalid_utf8`, `invalid_json`,
    /// `invalid_field` (not an object, a field of the wrong type or out of range, an unknown
    /// envelope key), `missing_field` or `unsupported_version`.
    public static func decode(line: UnsafeBufferPointer<UInt8>) throws(LineError) -> Event {
        if let event = EnvelopeScanner.event(line) { return event }
        return try decodeGenerally(line: line)
    }

    /// The general path of `decode(line:)`: the whole line through `JSONParser`, then the envelope's
    /// checks, each failure with its reason. Internal so that tests compare it with the fast path.
    static func decodeGenerally(line: UnsafeBufferPointer<UInt8>) throws(LineError) -> Event {
        let value = try JSONParser.parse(line)
        guard case .object(let object) = value else { throw LineError(.invalidField, "the line is not a JSON object") }
        return try decode(object: object)
    }

    /// Parses and validates one line (newline excluded) as an event.
    public static func decode(line: [UInt8]) throws(LineError) -> Event {
        let result: Result<Event, LineError> = line.withUnsafeBufferPointer { p in
            do throws(LineError) { return .success(try decode(line: p)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Validates a parsed object as an event.
    public static func decode(object: JSONObject) throws(LineError) -> Event {
        var v: Int64?
        var type: String?
        var market: String?
        var runID: String?
        var pid: Int64?
        var fence: Int64?
        var seq: Int64?
        var ts: String?
        var data: JSONObject?
        for (key, value) in object.members {
            // The length first, then one comparison: a `switch` over strings compares each case in
            // turn, and a mismatch between two small strings is an expensive call.
            let known: Bool
            switch key.utf8.count {
            case 1: known = key == "v"
            case 2: known = key == "ts"
            case 3: known = key == "pid" || key == "seq"
            case 4: known = key == "type" || key == "data"
            case 5: known = key == "fence"
            case 6: known = key == "market" || key == "run_id"
            default: known = false
            }
            guard known else { throw LineError(.invalidField, "unknown envelope key \"\(key)\"") }
            switch key {
            case "v": v = try int(value, key)
            case "type": type = try string(value, key)
            case "market": market = try string(value, key)
            case "run_id": runID = try string(value, key)
            case "pid": pid = try int(value, key)
            case "fence": fence = try int(value, key)
            case "seq": seq = try int(value, key)
            case "ts": ts = try string(value, key)
            case "data":
                guard case .object(let o) = value else { throw LineError(.invalidField, "data: expected an object") }
                data = o
            default: throw LineError(.invalidField, "unknown envelope key \"\(key)\"")
            }
        }
        guard let v else { throw LineError(.missingField, "v") }
        guard v == WireFormat.version else { throw LineError(.unsupportedVersion, "v=\(v), this build speaks v=\(WireFormat.version)") }
        guard let type else { throw LineError(.missingField, "type") }
        guard let market else { throw LineError(.missingField, "market") }
        guard let runID else { throw LineError(.missingField, "run_id") }
        guard let pid else { throw LineError(.missingField, "pid") }
        guard let fence else { throw LineError(.missingField, "fence") }
        guard let ts else { throw LineError(.missingField, "ts") }
        guard let data else { throw LineError(.missingField, "data") }
        guard Identifier.isValidType(type) else { throw LineError(.invalidField, "type: \"\(type)\" is not an upper-case event name") }
        guard Identifier.isValidMarket(market) else {
            throw LineError(.invalidField, "market: \"\(market)\" is not a canonical instrument")
        }
        guard Identifier.isValidRunID(runID) else { throw LineError(.invalidField, "run_id: \"\(runID)\" is not a run id") }
        guard pid > 0, pid <= Int64(Int32.max) else { throw LineError(.invalidField, "pid: \(pid) is out of range") }
        // Fence 0: a worker that never held the lock (a refused one); it is never a holder.
        guard fence >= 0 else { throw LineError(.invalidField, "fence: \(fence) is out of range") }
        guard UTCTimestamp.parse(ts) != nil else {
            throw LineError(.invalidField, "ts: \"\(ts)\" is not an ISO 8601 UTC time with fractional seconds")
        }
        if type == EventType.heartbeat.rawValue {
            if seq != nil { throw LineError(.invalidField, "seq: a HEARTBEAT carries no seq") }
        } else {
            guard let seq else { throw LineError(.missingField, "seq") }
            guard seq > 0 else { throw LineError(.invalidField, "seq: \(seq) is out of range") }
        }
        return Event(type: type, market: market, runID: runID, pid: Int32(pid), fence: fence, seq: seq, ts: ts, data: data)
    }

    private static func int(_ value: JSONValue, _ key: String) throws(LineError) -> Int64 {
        guard case .int(let i) = value else { throw LineError(.invalidField, "\(key): expected an integer") }
        return i
    }

    private static func string(_ value: JSONValue, _ key: String) throws(LineError) -> String {
        guard case .string(let s) = value else { throw LineError(.invalidField, "\(key): expected a string") }
        return s
    }
}

/// The shapes of the names that travel in envelopes.
public enum Identifier {
    /// A canonical instrument: 1 to 16 of A–Z, 0–9 and `_`, starting with a letter.
    public static func isValidMarket(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...16).contains(u.count), let first = u.first, isUpper(first) else { return false }
        return u.allSatisfy { isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// An event type: 1 to 64 of A–Z, 0–9 and `_`.
    public static func isValidType(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...64).contains(u.count) else { return false }
        return allBytes(s) { isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// A run id: 1 to 64 of a–z, A–Z, 0–9, `-` and `_`.
    public static func isValidRunID(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...64).contains(u.count) else { return false }
        return allBytes(s) {
            isUpper($0) || isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: "_")
        }
    }

    /// Whether every byte of `s` passes `test`: over the string's contiguous UTF-8 when it has it
    /// (a plain loop, no iterator), else through its `utf8` view.
    @inline(__always) static func allBytes(_ s: String, _ test: (UInt8) -> Bool) -> Bool {
        if let result = s.utf8.withContiguousStorageIfAvailable({ buffer in
            for b in buffer where !test(b) { return false }
            return true
        }) {
            return result
        }
        return s.utf8.allSatisfy(test)
    }

    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
