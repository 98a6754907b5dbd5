// libFuzzer harness for the wire codec: LineFramer -> JSONParser / Event.decode / WireCoding.
//
// Not part of the SwiftPM build: `fuzz/run` compiles this file together with the Wire sources it
// needs into one module, so the Wire types are referred to without `import Wire`.
//
// Every input is fed to a LineFramer in several chunk splits derived from the input; every framed
// line goes through the strict parser, the event decoder and the Codable hello/ack decoders, and
// the invariants below are checked. A violated invariant traps (fatalError), which libFuzzer
// reports as a crash with the input saved as the reproducer.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A frame copied out of the framer's callback (whose buffer is valid only inside it).
enum Framed: Equatable {
    case line([UInt8])
    case tooLong(Int)
}

/// A fixed xorshift generator seeded from the input, so one input always makes the same splits.
struct SplitRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant violated: \(message())") }
}

func describe(_ bytes: [UInt8]) -> String {
    let head = bytes.prefix(200).map { b -> String in
        (0x20..<0x7F).contains(b) && b != UInt8(ascii: "\\") ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
    }
    return "\(bytes.count) bytes: " + head.joined() + (bytes.count > 200 ? "…" : "")
}

/// What the framer must produce: the oracle, written the obvious way.
func referenceFrames(_ input: [UInt8], limit: Int) -> [Framed] {
    var out: [Framed] = []
    var lineStart = 0
    for (i, b) in input.enumerated() where b == UInt8(ascii: "\n") {
        let length = i - lineStart
        out.append(length > limit ? .tooLong(length) : .line(Array(input[lineStart..<i])))
        lineStart = i + 1
    }
    return out
}

/// Feeds `input` to a framer in the chunks `sizes` gives, checking the memory bound after each drain.
func frame(_ input: [UInt8], limit: Int, chunkSizes: inout SplitRandom, mode: Int) -> [Framed] {
    var framer = LineFramer(maxLineBytes: limit)
    var frames: [Framed] = []
    var offset = 0
    var rawAppend = false
    while offset < input.count {
        let size: Int
        switch mode {
        case 0: size = input.count
        case 1: size = 1
        default: size = 1 + chunkSizes.next(below: mode == 2 ? 16 : 8192)
        }
        let end = min(input.count, offset + size)
        if rawAppend {
            input[offset..<end].withUnsafeBytes { framer.append($0) }
        } else {
            framer.append(Array(input[offset..<end]))
        }
        rawAppend.toggle()
        offset = end
        framer.drain { f in
            switch f {
            case .line(let p):
                check(p.count <= limit, "a framed line of \(p.count) bytes is over the limit \(limit)")
                check(!p.contains(UInt8(ascii: "\n")), "a framed line contains a newline")
                frames.append(.line(Array(p)))
            case .tooLong(let n):
                check(n > limit, "tooLong(\(n)) reported for a line within the limit \(limit)")
                frames.append(.tooLong(n))
            }
        }
        check(
            framer.pendingBytes >= 0 && framer.pendingBytes <= limit,
            "pendingBytes \(framer.pendingBytes) after a drain, limit \(limit)")
    }
    return frames
}

let allowedEventReasons: Set<RejectionReason> = [.invalidUTF8, .invalidJSON, .invalidField, .missingField, .unsupportedVersion]

func checkJSON(_ line: [UInt8]) -> JSONValue? {
    // The validator agrees with the standard library's UTF-8 decoder.
    let valid = line.withUnsafeBufferPointer { UTF8Validator.isValid($0) }
    check(
        valid == (String(validating: line, as: UTF8.self) != nil), "UTF8Validator disagrees with String(validating:) on \(describe(line))")

    let value: JSONValue
    do {
        value = try JSONParser.parse(line)
    } catch {
        check(error.reason == .invalidJSON || error.reason == .invalidUTF8, "parser failed with \(error.reason)")
        check(valid || error.reason == .invalidUTF8, "valid UTF-8 refused as invalid_utf8")
        check(valid == (error.reason != .invalidUTF8), "invalid UTF-8 reported as \(error.reason)")
        if error.reason == .invalidJSON {
            check(
                error.offset != nil && error.offset! >= 0 && error.offset! <= line.count,
                "invalid_json offset \(String(describing: error.offset)) outside a line of \(line.count)")
        }
        return nil
    }
    check(valid, "the parser accepted invalid UTF-8: \(describe(line))")
    // Written, the value parses back equal, and writing is a fixed point (same bytes again).
    var written: [UInt8] = []
    value.write(into: &written)
    let again: JSONValue
    do { again = try JSONParser.parse(written) } catch {
        fatalError("fuzz invariant violated: written JSON does not parse (\(error)): \(describe(written)) from \(describe(line))")
    }
    check(again == value, "parse(write(v)) != v for \(describe(line))")
    var rewritten: [UInt8] = []
    again.write(into: &rewritten)
    check(rewritten == written, "write is not a fixed point: \(describe(written)) vs \(describe(rewritten))")
    check(!written.contains(UInt8(ascii: "\n")), "written JSON contains a raw newline")
    return value
}

func checkEvent(_ line: [UInt8], parsed: JSONValue?) {
    // The fast path (EnvelopeScanner) accepts only what the general path accepts, as the same event.
    line.withUnsafeBufferPointer { p in
        guard let fast = EnvelopeScanner.event(p) else { return }
        do {
            let general = try Event.decodeGenerally(line: p)
            check(general == fast, "the fast path decoded \(describe(line)) differently from the general path")
        } catch {
            fatalError("fuzz invariant violated: the fast path accepted what the general path refuses (\(error)): \(describe(line))")
        }
    }
    let event: Event
    do {
        event = try Event.decode(line: line)
    } catch {
        check(allowedEventReasons.contains(error.reason), "Event.decode failed with \(error.reason)")
        if parsed == nil {
            check(error.reason == .invalidJSON || error.reason == .invalidUTF8, "unparseable line refused as \(error.reason)")
        } else {
            check(error.reason != .invalidJSON && error.reason != .invalidUTF8, "parseable line refused as \(error.reason)")
        }
        return
    }
    check(parsed != nil, "Event.decode accepted a line the parser refuses")
    var encoded = event.encodedLine()
    check(encoded.last == UInt8(ascii: "\n"), "encodedLine does not end with a newline")
    encoded.removeLast()
    check(!encoded.contains(UInt8(ascii: "\n")), "encodedLine contains an inner newline")
    let back: Event
    do { back = try Event.decode(line: encoded) } catch {
        fatalError("fuzz invariant violated: re-encoded event does not decode (\(error)): \(describe(encoded))")
    }
    check(back == event, "decode(encodedLine(e)) != e for \(describe(line))")
    var reencoded = back.encodedLine()
    reencoded.removeLast()
    check(reencoded == encoded, "encodedLine is not a fixed point")
    // The event's JSON must equal what the parser saw (no field dropped or invented).
    check(
        JSONValue.object(decodeObject(encoded)) == JSONValue.object(reordered(parsed!.objectValue!)),
        "the re-encoded event is not the decoded object")
}

/// The re-encoded event as a JSON object.
func decodeObject(_ bytes: [UInt8]) -> JSONObject {
    guard let o = (try? JSONParser.parse(bytes))?.objectValue else { fatalError("fuzz invariant violated: encoded event is not an object") }
    return o
}

/// `object` with its envelope keys in the order `encodedLine` writes them.
func reordered(_ object: JSONObject) -> JSONObject {
    var out = JSONObject()
    for key in ["v", "type", "market", "run_id", "pid", "fence", "seq", "ts", "data"] {
        if let v = object[key] { out[key] = v }
    }
    return out
}

func checkCodable(_ line: [UInt8], parsed: JSONValue?) {
    if let hello = try? WireCoding.decode(Hello.self, from: line) {
        check(parsed != nil, "WireCoding.decode accepted a hello the strict parser refuses: \(describe(line))")
        var encoded = WireCoding.line(hello)
        encoded.removeLast()
        guard let back = try? WireCoding.decode(Hello.self, from: encoded) else {
            fatalError("fuzz invariant violated: a re-encoded hello does not decode: \(describe(encoded))")
        }
        check(back == hello, "a hello does not round-trip: \(describe(line))")
        check((try? JSONParser.parse(encoded)) != nil, "the strict parser refuses an encoded hello: \(describe(encoded))")
    }
    if let ack = try? WireCoding.decode(Ack.self, from: line) {
        var encoded = WireCoding.line(ack)
        encoded.removeLast()
        check(parsed != nil, "WireCoding.decode accepted an ack the strict parser refuses: \(describe(line))")
        check((try? WireCoding.decode(Ack.self, from: encoded)) == ack, "an ack does not round-trip: \(describe(line))")
    }
    if let welcome = try? WireCoding.decode(Welcome.self, from: line) {
        var encoded = WireCoding.line(welcome)
        encoded.removeLast()
        check(parsed != nil, "WireCoding.decode accepted a welcome the strict parser refuses: \(describe(line))")
        check((try? WireCoding.decode(Welcome.self, from: encoded)) == welcome, "a welcome does not round-trip: \(describe(line))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    var seed: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in input.prefix(64) { seed = (seed ^ UInt64(b)) &* 0x100_0000_01B3 }
    var random = SplitRandom(seed: seed)

    // Framing: every split gives exactly the reference frames, with the real limit and a small one.
    let expected = referenceFrames(input, limit: WireFormat.maxLineBytes)
    for mode in [0, 2, 3] + (size <= 4096 ? [1] : []) {
        let got = frame(input, limit: WireFormat.maxLineBytes, chunkSizes: &random, mode: mode)
        check(got == expected, "framing with split mode \(mode) differs from the reference")
    }
    let smallLimit = 1 + Int(seed % 64)
    let expectedSmall = referenceFrames(input, limit: smallLimit)
    for mode in [0, 2] {
        let got = frame(input, limit: smallLimit, chunkSizes: &random, mode: mode)
        check(got == expectedSmall, "framing with limit \(smallLimit), split mode \(mode) differs from the reference")
    }

    // Decoding: every framed line, and the whole input as one line when it has no newline
    // (so single-document seeds are decoded even without a trailing newline).
    var lines: [[UInt8]] = expected.compactMap { if case .line(let l) = $0 { return l } else { return nil } }
    if !input.contains(UInt8(ascii: "\n")), size <= WireFormat.maxLineBytes { lines.append(input) }
    for line in lines {
        let parsed = checkJSON(line)
        checkEvent(line, parsed: parsed)
        checkCodable(line, parsed: parsed)
    }
    return 0
}
