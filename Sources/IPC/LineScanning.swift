/// The steps every hand-written scanner of one line takes over its bytes (`EnvelopeScanner`,
/// `JSONSkimmer`), so they read whitespace, punctuation and plain strings the same way.
protocol LineScanning {
    var bytes: UnsafeBufferPointer<UInt8> { get }
    var index: Int { get set }
}

extension LineScanning {
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

    /// Whether `word` is spelled at `at`, wholly inside the bytes.
    @inline(__always) func spells(_ word: StaticString, at: Int) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        let w = word.utf8Start
        for i in 0..<n where bytes[at + i] != w[i] { return false }
        return true
    }
}
