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
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index: Int
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
            return skimmer.index
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, index: Int, keys: UnsafeMutableBufferPointer<Range<Int>>) {
        self.bytes = bytes
        self.index = index
        self.keys = keys
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

    private mutating func object(depth: Int) -> Bool {
        guard depth <= WireFormat.maxDepth, take(UInt8(ascii: "{")) else { return false }
        let first = keyCount
        defer { keyCount = first }
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = asciiKey(), keyCount < Self.maxKeys else { return false }
            for i in first..<keyCount where sameBytes(keys[i], key) { return false }
            keys.initializeElement(at: keyCount, to: key)
            keyCount += 1
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard value(depth: depth) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    private mutating func array(depth: Int) -> Bool {
        guard depth <= WireFormat.maxDepth, take(UInt8(ascii: "[")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return true }
        while true {
            skipWhitespace()
            guard value(depth: depth) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]"))
        }
    }

    private mutating func value(depth: Int) -> Bool {
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object(depth: depth + 1)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""): return string(asciiOnly: false) != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return false
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { return false }
        let w = word.utf8Start
        for i in 0..<n where bytes[index + i] != w[i] { return false }
        index += n
        return true
    }

    /// A key: a string of printable ASCII without escapes.
    @inline(__always) private mutating func asciiKey() -> Range<Int>? { string(asciiOnly: true) }

    /// The bytes between the quotes of a string without escapes or control characters (and, if
    /// `asciiOnly`, without bytes above 0x7F); nil for anything else.
    private mutating func string(asciiOnly: Bool) -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            if b == UInt8(ascii: "\\") || b < 0x20 || (asciiOnly && b > 0x7F) { return nil }
            index += 1
        }
        return nil
    }

    /// `-? (0 | [1-9][0-9]{0,17}) (. [0-9]+)?`: what the parser accepts and, for these shapes,
    /// can never find out of range.
    private mutating func number() -> Bool {
        _ = take(UInt8(ascii: "-"))
        let start = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        let digits = index - start
        guard digits > 0, digits <= 18, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return false }
        if take(UInt8(ascii: ".")) {
            let fraction = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > fraction else { return false }
        }
        return index >= bytes.count || (bytes[index] != UInt8(ascii: "e") && bytes[index] != UInt8(ascii: "E"))
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    @inline(__always) private func sameBytes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where bytes[a.lowerBound + i] != bytes[b.lowerBound + i] { return false }
        return true
    }
}
