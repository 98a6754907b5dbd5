/// A position in one line's bytes and the steps every hand-written scanner of a line takes over
/// them (`EnvelopeScanner`, `JSONSkimmer`): whitespace, punctuation, spelled words and plain
/// strings, read the same way in both.
///
/// A concrete struct the scanners hold, on purpose not a protocol with extension methods: in debug
/// builds those are not specialized, and the per-byte calls through them made the watchdog too slow
/// to keep up in the sanitizer runs of `WatchdogDeliveryTests`. Calls to a concrete struct's
/// methods stay direct calls, and `bytes` and `index` are stored properties read without a call.
struct ByteCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    /// Past JSON's four whitespace bytes.
    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Past `byte` if it is next; whether it was.
    @inline(__always) mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Past `word` if it is spelled next; whether it was.
    mutating func take(word: StaticString) -> Bool {
        guard spells(word, at: index) else { return false }
        index += word.utf8CodeUnitCount
        return true
    }

    /// Whether `word` is spelled at `at`, wholly inside the bytes.
    @inline(__always) func spells(_ word: StaticString, at: Int) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        let w = word.utf8Start
        for i in 0..<n where bytes[at + i] != w[i] { return false }
        return true
    }

    /// The bytes between the quotes of a string with no escape and no control character (and, if
    /// `asciiOnly`, no byte above 0x7F); nil for anything else, which the full parser handles.
    mutating func plainString(asciiOnly: Bool = false) -> Range<Int>? {
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

    /// Past the ASCII digits that follow; how many there were.
    @inline(__always) mutating func skipDigits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// Whether the bytes of two ranges are the same.
    @inline(__always) func sameBytes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where bytes[a.lowerBound + i] != bytes[b.lowerBound + i] { return false }
        return true
    }

    /// The bytes of `range` as a string (they are valid UTF-8 already).
    @inline(__always) func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
