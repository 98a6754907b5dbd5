/// Checks that bytes hold one JSON object the strict parser would accept, without building it:
/// for `EnvelopeScanner`, which keeps an event's `data` as its own bytes until something reads it.
///
/// It decides only what is cheap to decide exactly like `JSONParser`, and gives up (nil) on the
/// rest, which then goes through the parser: an escape in any string, a key that is not plain
/// ASCII (Swift compares strings by canonical equivalence, so only ASCII keys compare equal exactly
/// when their bytes do), an exponent or an integer part of more than 18 digits (the parser's
/// range checks), more than `maxKeys` keys open at once. So it accepts a subset of what the parser
/// accepts, never more; `EnvelopeScannerTests` and the fuzzer check that.
struct JSONSkimmer {
    private var cursor: ByteCursor
    /// The keys of the objects being skimmed, innermost last (for the duplicate-key rule).
    private let keys: UnsafeMutableBufferPointer<Range<Int>>
    private var keyCount = 0

    static let maxKeys = 64

    /// The index just past the object that opens at `start`, nested at `depth` (as
    /// `JSONParser.parseObject(_:at:depth:)` counts), or nil: invalid, or not decided here.
    /// The bytes must be valid UTF-8 already.
    static func objectEnd(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, depth: Int) -> Int? {
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: maxKeys) { keys in
            var skimmer = JSONSkimmer(bytes: bytes, index: start, keys: keys)
            guard skimmer.object(depth: depth) else { return nil }
            return skimmer.cursor.index
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, index: Int, keys: UnsafeMutableBufferPointer<Range<Int>>) {
        cursor = ByteCursor(bytes, at: index)
        self.keys = keys
    }

    private mutating func object(depth: Int) -> Bool {
        guard depth <= WireFormat.maxDepth, cursor.take(UInt8(ascii: "{")) else { return false }
        let first = keyCount
        defer { keyCount = first }
        cursor.skipWhitespace()
        if cursor.take(UInt8(ascii: "}")) { return true }
        while true {
            cursor.skipWhitespace()
            // A key: a string of printable ASCII without escapes.
            guard let key = cursor.plainString(asciiOnly: true), keyCount < Self.maxKeys else { return false }
            for i in first..<keyCount where cursor.sameBytes(keys[i], key) { return false }
            keys.initializeElement(at: keyCount, to: key)
            keyCount += 1
            cursor.skipWhitespace()
            guard cursor.take(UInt8(ascii: ":")) else { return false }
            cursor.skipWhitespace()
            guard value(depth: depth) else { return false }
            cursor.skipWhitespace()
            if cursor.take(UInt8(ascii: ",")) { continue }
            return cursor.take(UInt8(ascii: "}"))
        }
    }

    private mutating func array(depth: Int) -> Bool {
        guard depth <= WireFormat.maxDepth, cursor.take(UInt8(ascii: "[")) else { return false }
        cursor.skipWhitespace()
        if cursor.take(UInt8(ascii: "]")) { return true }
        while true {
            cursor.skipWhitespace()
            guard value(depth: depth) else { return false }
            cursor.skipWhitespace()
            if cursor.take(UInt8(ascii: ",")) { continue }
            return cursor.take(UInt8(ascii: "]"))
        }
    }

    private mutating func value(depth: Int) -> Bool {
        guard cursor.index < cursor.bytes.count else { return false }
        switch cursor.bytes[cursor.index] {
        case UInt8(ascii: "{"): return object(depth: depth + 1)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""): return cursor.plainString() != nil
        case UInt8(ascii: "t"): return cursor.take(word: "true")
        case UInt8(ascii: "f"): return cursor.take(word: "false")
        case UInt8(ascii: "n"): return cursor.take(word: "null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return false
        }
    }

    /// `-? (0 | [1-9][0-9]{0,17}) (. [0-9]+)?`: what the parser accepts and, for these shapes,
    /// can never find out of range.
    private mutating func number() -> Bool {
        _ = cursor.take(UInt8(ascii: "-"))
        let start = cursor.index
        let digits = cursor.skipDigits()
        guard digits > 0, digits <= 18, digits == 1 || cursor.bytes[start] != UInt8(ascii: "0") else { return false }
        if cursor.take(UInt8(ascii: ".")) {
            guard cursor.skipDigits() > 0 else { return false }
        }
        let bytes = cursor.bytes
        let index = cursor.index
        return index >= bytes.count || (bytes[index] != UInt8(ascii: "e") && bytes[index] != UInt8(ascii: "E"))
    }
}
