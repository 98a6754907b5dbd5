/// The per-event fast path of `Event.decode(line:)`: reads the envelope straight from the line's
/// bytes, with no `JSONValue` for its nine members, and checks `data` in place (`JSONSkimmer`),
/// keeping its bytes for whoever reads it later.
///
/// It accepts only what the general path (`JSONParser.parse`, then `Event.decode(object:)`)
/// accepts, and builds the same `Event`. Whatever it does not handle itself (an escape or control
/// character in a key or an envelope string, a number that is not a plain integer, an unknown or
/// repeated key, a field of the wrong type or out of range, invalid UTF-8) makes it return nil,
/// and the general path decides, with the exact reason and byte offset. A line a worker writes
/// never needs the general path. `EnvelopeScannerTests` check that both paths agree.
struct EnvelopeScanner {
    private var cursor: ByteCursor

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { cursor = ByteCursor(bytes) }

    /// The event on `line` (newline excluded), or nil when the general path must decide.
    static func event(_ line: UnsafeBufferPointer<UInt8>) -> Event? {
        guard UTF8Validator.isValid(line) else { return nil }
        var scanner = EnvelopeScanner(line)
        return scanner.scan()
    }

    private enum Key: UInt16 {
        case v = 1
        case type = 2
        case market = 4
        case runID = 8
        case pid = 16
        case fence = 32
        case seq = 64
        case ts = 128
        case data = 256
    }
    private static let required: UInt16 = 0x1FF & ~Key.seq.rawValue

    private mutating func scan() -> Event? {
        var seen: UInt16 = 0
        var v: Int64 = 0
        var pid: Int64 = 0
        var fence: Int64 = 0
        var seq: Int64?
        var type = ""
        var market = ""
        var runID = ""
        var tsRange = 0..<0
        var data = JSONObject()
        var dataBytes: Range<Int>?
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: "{")) else { return nil }
        while true {
            cursor.skipWhitespace()
            guard let key = key() else { return nil }
            guard seen & key.rawValue == 0 else { return nil }
            seen |= key.rawValue
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ":")) else { return nil }
            cursor.skipWhitespace()
            switch key {
            case .v:
                guard let i = integer() else { return nil }
                v = i
            case .pid:
                guard let i = integer() else { return nil }
                pid = i
            case .fence:
                guard let i = integer() else { return nil }
                fence = i
            case .seq:
                guard let i = integer() else { return nil }
                seq = i
            case .type:
                guard let s = cursor.plainString() else { return nil }
                type = cursor.string(s)
            case .market:
                guard let s = cursor.plainString() else { return nil }
                market = cursor.string(s)
            case .runID:
                guard let s = cursor.plainString() else { return nil }
                runID = cursor.string(s)
            case .ts:
                guard let s = cursor.plainString() else { return nil }
                tsRange = s
            case .data:
                // Validated in place and kept as bytes when that is decided cheaply; else parsed.
                if let end = JSONSkimmer.objectEnd(cursor.bytes, at: cursor.index, depth: 2) {
                    dataBytes = cursor.index..<end
                    cursor.index = end
                } else {
                    guard let (object, end) = try? JSONParser.parseObject(cursor.bytes, at: cursor.index, depth: 2) else { return nil }
                    data = object
                    cursor.index = end
                }
            }
            cursor.skipWhitespace()
            if cursor.take(UInt8(ascii: ",")) { continue }
            guard cursor.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        cursor.skipWhitespace()
        guard cursor.index == cursor.bytes.count, seen & Self.required == Self.required else { return nil }
        let ts = UnsafeBufferPointer(rebasing: cursor.bytes[tsRange])
        guard v == WireFormat.version, Identifier.isValidType(type), Identifier.isValidMarket(market), Identifier.isValidRunID(runID),
            pid > 0, pid <= Int64(Int32.max), fence >= 0, UTCTimestamp.parse(ts) != nil
        else { return nil }
        if type == EventType.heartbeat.rawValue {
            guard seq == nil else { return nil }
        } else {
            guard let seq, seq > 0 else { return nil }
        }
        if let dataBytes {
            return Event(
                type: type, market: market, runID: runID, pid: Int32(pid), fence: fence, seq: seq, ts: cursor.string(tsRange),
                dataBytes: Array(cursor.bytes[dataBytes]))
        }
        return Event(
            type: type, market: market, runID: runID, pid: Int32(pid), fence: fence, seq: seq, ts: cursor.string(tsRange), data: data)
    }

    /// One of the nine envelope keys, written without escapes; nil for anything else.
    private mutating func key() -> Key? {
        guard let range = cursor.plainString() else { return nil }
        let b = cursor.bytes
        let s = range.lowerBound
        switch range.count {
        case 1: return b[s] == UInt8(ascii: "v") ? .v : nil
        case 2: return cursor.spells("ts", at: s) ? .ts : nil
        case 3: return cursor.spells("pid", at: s) ? .pid : cursor.spells("seq", at: s) ? .seq : nil
        case 4: return cursor.spells("type", at: s) ? .type : cursor.spells("data", at: s) ? .data : nil
        case 5: return cursor.spells("fence", at: s) ? .fence : nil
        case 6: return cursor.spells("market", at: s) ? .market : cursor.spells("run_id", at: s) ? .runID : nil
        default: return nil
        }
    }

    /// A JSON integer of at most 18 digits (so it cannot overflow); nil for a fraction, an
    /// exponent, a leading zero, a longer one or anything that is not a number.
    private mutating func integer() -> Int64? {
        let negative = cursor.take(UInt8(ascii: "-"))
        let bytes = cursor.bytes
        let start = cursor.index
        var index = start
        var magnitude: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            guard index - start < 18 else { return nil }
            magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        cursor.index = index
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")
        {
            return nil
        }
        return negative ? -magnitude : magnitude
    }
}
