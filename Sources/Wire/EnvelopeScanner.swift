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
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The event on `line` (newline excluded), or nil when the general path must decide.
    static func event(_ line: UnsafeBufferPointer<UInt8>) -> Event? {
        guard UTF8Validator.isValid(line) else { return nil }
        var scanner = EnvelopeScanner(line)
        return scanner.scan()
    }

    private enum Key: UInt16 { case v = 1, type = 2, market = 4, runID = 8, pid = 16, fence = 32, seq = 64, ts = 128, data = 256 }
    private static let required: UInt16 = 0x1FF & ~Key.seq.rawValue

    private mutating func scan() -> Event? {
        var seen: UInt16 = 0
        var v: Int64 = 0, pid: Int64 = 0, fence: Int64 = 0, seq: Int64?
        var type = "", market = "", runID = ""
        var tsRange = 0..<0
        var data = JSONObject()
        var dataBytes: Range<Int>?
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return nil }
        while true {
            skipWhitespace()
            guard let key = key() else { return nil }
            guard seen & key.rawValue == 0 else { return nil }
            seen |= key.rawValue
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            switch key {
            case .v: guard let i = integer() else { return nil }; v = i
            case .pid: guard let i = integer() else { return nil }; pid = i
            case .fence: guard let i = integer() else { return nil }; fence = i
            case .seq: guard let i = integer() else { return nil }; seq = i
            case .type: guard let s = plainString() else { return nil }; type = string(s)
            case .market: guard let s = plainString() else { return nil }; market = string(s)
            case .runID: guard let s = plainString() else { return nil }; runID = string(s)
            case .ts: guard let s = plainString() else { return nil }; tsRange = s
            case .data:
                // Validated in place and kept as bytes when that is decided cheaply; else parsed.
                if let end = JSONSkimmer.objectEnd(bytes, at: index, depth: 2) {
                    dataBytes = index..<end
                    index = end
                } else {
                    guard let (object, end) = try? JSONParser.parseObject(bytes, at: index, depth: 2) else { return nil }
                    data = object
                    index = end
                }
            }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipWhitespace()
        guard index == bytes.count, seen & Self.required == Self.required else { return nil }
        let ts = UnsafeBufferPointer(rebasing: bytes[tsRange])
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
                type: type, market: market, runID: runID, pid: Int32(pid), fence: fence, seq: seq, ts: string(tsRange),
                dataBytes: Array(bytes[dataBytes]))
        }
        return Event(type: type, market: market, runID: runID, pid: Int32(pid), fence: fence, seq: seq, ts: string(tsRange), data: data)
    }

    @inline(__always) private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    @inline(__always) private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// One of the nine envelope keys, written without escapes; nil for anything else.
    private mutating func key() -> Key? {
        guard let range = plainString() else { return nil }
        let b = bytes, s = range.lowerBound
        switch range.count {
        case 1: return b[s] == UInt8(ascii: "v") ? .v : nil
        case 2: return spells("ts", s) ? .ts : nil
        case 3: return spells("pid", s) ? .pid : spells("seq", s) ? .seq : nil
        case 4: return spells("type", s) ? .type : spells("data", s) ? .data : nil
        case 5: return spells("fence", s) ? .fence : nil
        case 6: return spells("market", s) ? .market : spells("run_id", s) ? .runID : nil
        default: return nil
        }
    }

    @inline(__always) private func spells(_ word: StaticString, _ at: Int) -> Bool {
        let w = word.utf8Start
        for i in 0..<word.utf8CodeUnitCount where bytes[at + i] != w[i] { return false }
        return true
    }

    /// The bytes between the quotes of a string with no escape and no control character; nil
    /// for anything else (the general path handles escapes and reports the rest).
    private mutating func plainString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { return nil }
            index += 1
        }
        return nil
    }

    /// A JSON integer of at most 18 digits (so it cannot overflow); nil for a fraction, an
    /// exponent, a leading zero, a longer one or anything that is not a number.
    private mutating func integer() -> Int64? {
        let negative = take(UInt8(ascii: "-"))
        let start = index
        var magnitude: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            guard index - start < 18 else { return nil }
            magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            return nil
        }
        return negative ? -magnitude : magnitude
    }

    @inline(__always) private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
