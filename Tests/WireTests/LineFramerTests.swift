import Testing
import Wire

/// A frame copied out of the framer's callback.
enum Framed: Equatable, CustomStringConvertible {
    case line([UInt8])
    case tooLong(Int)

    static func text(_ s: String) -> Framed { .line(Array(s.utf8)) }

    var description: String {
        switch self {
        case .line(let bytes): return bytes.count > 80 ? "line(\(bytes.count) bytes)" : "line(\(String(decoding: bytes, as: UTF8.self)))"
        case .tooLong(let n): return "tooLong(\(n))"
        }
    }
}

extension LineFramer {
    mutating func feed(_ bytes: [UInt8]) -> [Framed] {
        append(bytes)
        var out: [Framed] = []
        drain { frame in
            switch frame {
            case .line(let p): out.append(.line(Array(p)))
            case .tooLong(let n): out.append(.tooLong(n))
            }
        }
        return out
    }

    mutating func feed(_ text: String) -> [Framed] { feed(Array(text.utf8)) }
}

@Suite("LineFramer")
struct LineFramerTests {
    let newline = UInt8(ascii: "\n")

    @Test("a line split across appends is delivered once complete")
    func splitLine() {
        var framer = LineFramer()
        #expect(framer.feed("{\"a\"") == [])
        #expect(framer.pendingBytes == 4)
        #expect(framer.feed(":1") == [])
        #expect(framer.pendingBytes == 6)
        #expect(framer.feed("}\n") == [.text("{\"a\":1}")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("a line delivered one byte at a time")
    func byteByByte() {
        var framer = LineFramer()
        var frames: [Framed] = []
        for byte in Array("abc\nde\n".utf8) { frames += framer.feed([byte]) }
        #expect(frames == [.text("abc"), .text("de")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("several lines in one append, and the partial trailing line is held")
    func severalLines() {
        var framer = LineFramer()
        #expect(framer.feed("one\ntwo\n\nthree\n{\"b\"") == [.text("one"), .text("two"), .text(""), .text("three")])
        #expect(framer.pendingBytes == 4)
        #expect(framer.feed(":2}\n") == [.text("{\"b\":2}")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("append from a raw buffer")
    func rawAppend() {
        var framer = LineFramer()
        let bytes = Array("x\ny".utf8)
        bytes.withUnsafeBytes { framer.append($0) }
        var out: [Framed] = []
        framer.drain { frame in
            if case .line(let p) = frame { out.append(.line(Array(p))) }
        }
        #expect(out == [.text("x")])
        #expect(framer.pendingBytes == 1)
    }

    @Test("a line of exactly maxLineBytes is accepted; one byte more is tooLong and the next line still arrives")
    func limitInOneAppend() {
        let max = WireFormat.maxLineBytes
        #expect(max == 65_536)
        var framer = LineFramer()
        let exact = [UInt8](repeating: UInt8(ascii: "a"), count: max)
        let over = [UInt8](repeating: UInt8(ascii: "b"), count: max + 1)
        let frames = framer.feed(exact + [newline] + over + [newline] + Array("next\n".utf8))
        #expect(frames == [.line(exact), .tooLong(max + 1), .text("next")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("the limit holds when the line arrives over several appends")
    func limitAcrossAppends() {
        let max = WireFormat.maxLineBytes
        var framer = LineFramer()
        let exact = [UInt8](repeating: UInt8(ascii: "a"), count: max)
        #expect(framer.feed(exact) == [])
        #expect(framer.pendingBytes == max)
        #expect(framer.feed([newline]) == [.line(exact)])

        #expect(framer.feed([UInt8](repeating: UInt8(ascii: "b"), count: max)) == [])
        #expect(framer.feed([UInt8(ascii: "b")]) == [])
        #expect(framer.pendingBytes == 0)
        #expect(framer.feed(Array("\nafter\n".utf8)) == [.tooLong(max + 1), .text("after")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("a smaller custom limit")
    func customLimit() {
        var framer = LineFramer(maxLineBytes: 4)
        #expect(framer.maxLineBytes == 4)
        #expect(framer.feed("abcd\nabcde\nab") == [.text("abcd"), .tooLong(5)])
        #expect(framer.pendingBytes == 2)
        #expect(framer.feed("cdefgh") == [])
        #expect(framer.pendingBytes == 0)
        #expect(framer.feed("ij\nok\n") == [.tooLong(10), .text("ok")])
    }

    @Test("a 1 MiB line in 4 KiB chunks is one tooLong(1048576) and memory stays bounded")
    func megabyteLine() {
        let max = WireFormat.maxLineBytes
        var framer = LineFramer()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4096)
        var frames: [Framed] = []
        var highestPending = 0
        for _ in 0..<(1_048_576 / 4096) {
            frames += framer.feed(chunk)
            highestPending = Swift.max(highestPending, framer.pendingBytes)
            #expect(framer.pendingBytes <= max)
        }
        #expect(frames == [])
        #expect(highestPending == max)
        frames += framer.feed(Array("\n{\"ok\":1}\n".utf8))
        #expect(frames == [.tooLong(1_048_576), .text("{\"ok\":1}")])
        #expect(framer.pendingBytes == 0)
    }

    @Test("the newline of an over-long line may arrive in the same chunk as its tail")
    func overLongTailWithNewline() {
        var framer = LineFramer(maxLineBytes: 8)
        #expect(framer.feed("0123456789") == [])
        #expect(framer.feed("ab\ncd") == [.tooLong(12)])
        #expect(framer.pendingBytes == 2)
        #expect(framer.feed("\n") == [.text("cd")])
    }
}
