extension Event {
    /// The string value of the top-level key `key` of `data`, or nil when it is absent or not a
    /// string: the same answer as `data[key]?.stringValue`, without parsing the whole object when
    /// `data` is still the line's bytes. The watchdog reads a heartbeat's `mode` on every heartbeat,
    /// and parsing the rest of its `data` (two numbers through `strtod`, a dictionary) cost more
    /// than the heartbeat's whole state update.
    public func dataString(_ key: String) -> String? {
        switch payload {
        case .object(let object): return object[key]?.stringValue
        case .bytes(let bytes):
            return bytes.withUnsafeBufferPointer { b in
                var key = key
                return key.withUTF8 { Self.topLevelString($0, in: b) }
            }
        }
    }

    /// Finds `key` among the top-level keys of the object `b` and returns its value if it is a
    /// string. `b` is what `JSONSkimmer` accepted: one valid object with no escape in any string
    /// and no duplicate key, so a string ends at the next quote.
    static func topLevelString(_ key: UnsafeBufferPointer<UInt8>, in b: UnsafeBufferPointer<UInt8>) -> String? {
        let quote = UInt8(ascii: "\"")
        var depth = 0
        var expectKey = false
        var i = 0
        func stringEnd(_ start: Int) -> Int {
            var j = start + 1
            while j < b.count, b[j] != quote { j += 1 }
            return j
        }
        func skipSpace(_ k: inout Int) {
            while k < b.count, b[k] == 0x20 || b[k] == 0x09 || b[k] == 0x0A || b[k] == 0x0D { k += 1 }
        }
        while i < b.count {
            let c = b[i]
            if c == quote {
                let end = stringEnd(i)
                guard depth == 1, expectKey else {
                    i = end + 1
                    continue
                }
                expectKey = false
                var v = end + 1
                skipSpace(&v)
                v += 1 // the colon
                skipSpace(&v)
                let length = end - i - 1
                if length == key.count, (0..<length).allSatisfy({ b[i + 1 + $0] == key[$0] }) {
                    guard v < b.count, b[v] == quote else { return nil }
                    let valueEnd = stringEnd(v)
                    return String(decoding: UnsafeBufferPointer(rebasing: b[(v + 1)..<valueEnd]), as: UTF8.self)
                }
                i = v
                continue
            }
            switch c {
            case UInt8(ascii: "{"):
                depth += 1
                if depth == 1 { expectKey = true }
            case UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { expectKey = true }
            default: break
            }
            i += 1
        }
        return nil
    }
}
