import Foundation
import Platform
import Testing
import Wire

// Property tests of the NDJSON codec and the Codable wire messages against hostile input.
//
// Randomised tests draw from a seeded SplitMix64, and every failure message names the seed and the
// case index, so it can be replayed: set CODEC_PROPERTY_SEED=<seed> to run one seed only. The
// fixed cases (truncation, depth, numbers, duplicate keys, wrong types) extend the example-based
// EventTests/JSONParserTests to every event type, every envelope field and every level.

/// The seeds the randomised properties run under: CODEC_PROPERTY_SEED alone when set, else a fixed list.
let propertySeeds: [UInt64] = {
    if let text = ProcessInfo.processInfo.environment["CODEC_PROPERTY_SEED"], let seed = UInt64(text) { return [seed] }
    return [1, 2, 3, 0xC0DEC, 20_261_121]
}()

/// The reasons Event.decode may refuse a line with.
let eventReasons: Set<RejectionReason> = [.invalidUTF8, .invalidJSON, .invalidField, .missingField, .unsupportedVersion]

/// One valid line (newline excluded) per event type the worker emits, with a `data` of the shape it emits.
let validEventLines: [(type: EventType, line: [UInt8])] = EventType.allCases.map { type in
    let data: JSONObject =
        switch type {
        case .heartbeat: ["mode": "AGGRESSIVE", "uptime_seconds": .double(0.013413525), "rss_bytes": 24_915_968, "last_seq": 6]
        case .canonicalizationSelfTest:
            [
                "requested_symbol": "MES", "canonical_instrument": "ES", "instrument_mappings": .object(["MES": "ES", "MNQ": "NQ"]),
                "canonical_stream_ids": .strings(["ES1", "ES2"]),
            ]
        case .startupChecks:
            ["passed": true, "checks": [.object(["name": "event_log_integrity", "passed": true, "detail": "0 events, 0 runs"])]]
        case .orderPlaced, .orderFilled, .orderCancelled, .orderTimeout:
            ["client_order_id": "ES-1-7", "stream": "ES1", "side": "BUY", "quantity": 1, "limit": .double(5012.25), "status": "WORKING"]
        case .configReloadFailed: ["path": "/etc/robot/config.json", "error": "line 3: expected \",\" — é\n"]
        default: ["detail": "x", "fence": 1, "ok": true, "nothing": nil, "ratio": .double(-0.5)]
        }
    let event = Event(
        type: type.rawValue, market: "ES", runID: "ES-20261121T074228Z-8f93cefd", pid: 10009, fence: 1,
        seq: type == .heartbeat ? nil : 42, ts: "2026-11-21T07:42:28.802799Z", data: data)
    return (type, Array(event.encodedLine().dropLast()))
}

/// Frames `input` in the chunks `sizes` cuts it into.
func frameAll(_ input: [UInt8], chunks sizes: [Int], limit: Int = WireFormat.maxLineBytes) -> [Framed] {
    var framer = LineFramer(maxLineBytes: limit)
    var out: [Framed] = []
    var offset = 0
    for size in sizes where offset < input.count {
        let end = min(input.count, offset + size)
        out += framer.feed(Array(input[offset..<end]))
        precondition(framer.pendingBytes <= limit)
        offset = end
    }
    if offset < input.count { out += framer.feed(Array(input[offset...])) }
    return out
}

/// What the framer must produce for `input`, written the obvious way.
func expectedFrames(_ input: [UInt8], limit: Int = WireFormat.maxLineBytes) -> [Framed] {
    var out: [Framed] = []
    var start = 0
    for (i, b) in input.enumerated() where b == UInt8(ascii: "\n") {
        out.append(i - start > limit ? .tooLong(i - start) : .line(Array(input[start..<i])))
        start = i + 1
    }
    return out
}

@Suite("Codec properties")
struct CodecPropertyTests {
    // MARK: Random bytes

    /// Bytes biased towards JSON's own alphabet, so random input gets past the first byte.
    static func hostileBytes(_ rng: inout SplitMix64, count: Int) -> [UInt8] {
        let alphabet =
            Array("{}[]:,\"\\ntrufalse0123456789-+.eE \t\r\n\u{0}".utf8) + [0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0xFF, 0xC0]
        return (0..<count).map { _ in
            Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
        }
    }

    /// A valid event line with a few random byte edits (replace, insert, delete, duplicate a range).
    static func mutatedLine(_ rng: inout SplitMix64) -> [UInt8] {
        var line = validEventLines.randomElement(using: &rng)!.line
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let i = Int.random(in: 0..<line.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: line[i] = hostileBytes(&rng, count: 1)[0]
            case 1: line.insert(contentsOf: hostileBytes(&rng, count: Int.random(in: 1...3, using: &rng)), at: i)
            case 2: line.remove(at: i)
            default:
                let j = min(line.count, i + Int.random(in: 1...12, using: &rng))
                line.insert(contentsOf: line[i..<j], at: j)
            }
            if line.isEmpty { line = [UInt8(ascii: "{")] }
        }
        return line
    }

    /// Checks one line through the parser, the event decoder and the hello decoder: a failure is a
    /// LineError with a reason the decoder may use; a success round-trips.
    static func checkLine(_ line: [UInt8], _ context: String) {
        var parsed: JSONValue?
        do { parsed = try JSONParser.parse(line) } catch {
            #expect(error.reason == .invalidJSON || error.reason == .invalidUTF8, "\(context): parser reason \(error.reason)")
        }
        if let parsed {
            var out: [UInt8] = []
            parsed.write(into: &out)
            #expect((try? JSONParser.parse(out)) == parsed, "\(context): written JSON does not parse back equal")
        }
        do {
            let event = try Event.decode(line: line)
            #expect(parsed != nil, "\(context): decoded an event the parser refuses")
            #expect(try Event.decode(line: Array(event.encodedLine().dropLast())) == event, "\(context): event does not round-trip")
        } catch {
            #expect(eventReasons.contains(error.reason), "\(context): Event.decode reason \(error.reason)")
        }
        _ = try? WireCoding.decode(Hello.self, from: line)
        _ = try? WireCoding.decode(Ack.self, from: line)
    }

    @Test("random bytes in random chunks: framing matches the reference and nothing crashes", arguments: propertySeeds)
    func randomBytes(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for n in 0..<300 {
            let input = Self.hostileBytes(&rng, count: Int.random(in: 0...600, using: &rng))
            let limit = Bool.random(using: &rng) ? WireFormat.maxLineBytes : Int.random(in: 1...40, using: &rng)
            let chunks = (0..<input.count).map { _ in Int.random(in: 1...50, using: &rng) }
            let framed = frameAll(input, chunks: chunks, limit: limit)
            #expect(framed == expectedFrames(input, limit: limit), "seed \(seed) case \(n): framing differs from the reference")
            for case .line(let line) in framed { Self.checkLine(line, "seed \(seed) case \(n)") }
            Self.checkLine(input, "seed \(seed) case \(n) (whole input)")
        }
    }

    @Test("valid event lines with random edits are refused with a reason or decode and round-trip", arguments: propertySeeds)
    func mutatedEvents(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for n in 0..<400 {
            let line = Self.mutatedLine(&rng)
            Self.checkLine(line, "seed \(seed) case \(n) line \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    // MARK: Truncation

    @Test("every truncation of every event type's line is refused; only cutting trailing whitespace keeps the event")
    func truncation() throws {
        for (type, line) in validEventLines {
            let event = try Event.decode(line: line)
            let padded = line + Array(" \t\r".utf8)
            for length in 0..<padded.count {
                let prefix = Array(padded[0..<length])
                if length >= line.count {
                    #expect(try Event.decode(line: prefix) == event, "\(type): cut to \(length) bytes, only whitespace lost")
                    continue
                }
                do {
                    let other = try Event.decode(line: prefix)
                    Issue.record("\(type): a prefix of \(length) bytes was accepted as \(other)")
                } catch {
                    #expect(error.reason == .invalidJSON || error.reason == .invalidUTF8, "\(type) cut to \(length): \(error)")
                }
            }
        }
    }

    @Test("a stream of events cut at every offset frames only the complete lines")
    func truncatedStream() throws {
        let stream = validEventLines.prefix(4).flatMap { $0.line + [UInt8(ascii: "\n")] }
        for length in 0...stream.count {
            let frames = frameAll(Array(stream[0..<length]), chunks: [7, 300, 1, 64])
            #expect(frames == expectedFrames(Array(stream[0..<length])), "cut at \(length)")
            for case .line(let line) in frames { #expect(throws: Never.self) { try Event.decode(line: line) } }
        }
    }

    // MARK: Size and depth

    /// A valid event line padded through its data to exactly `size` bytes.
    static func eventLine(size: Int) -> [UInt8] {
        let base = Array(Envelope.event.with("data", "{\"pad\":\"\"}").line)
        var line = Array(base.dropLast(3)) // "pad":"   without  "}}
        line += [UInt8](repeating: UInt8(ascii: "x"), count: size - base.count)
        line += Array("\"}}".utf8)
        return line
    }

    @Test("a 60 KiB event line is accepted; a 70 KiB one is tooLong and the next line still decodes")
    func hugeLines() throws {
        let big = Self.eventLine(size: 60 * 1024)
        #expect(big.count == 60 * 1024)
        let huge = Self.eventLine(size: 70 * 1024)
        let next = Envelope.event.line
        let stream = big + [10] + huge + [10] + next + [10]
        let frames = frameAll(stream, chunks: [4096, 65536, 1, 70_000, 3])
        #expect(frames.count == 3)
        guard frames.count == 3 else { return }
        guard case .line(let first) = frames[0] else {
            Issue.record("60 KiB line not framed: \(frames[0])")
            return
        }
        let padding = 60 * 1024 - Envelope.event.with("data", "{\"pad\":\"\"}").line.count
        #expect(try Event.decode(line: first).data["pad"]?.stringValue?.utf8.count == padding)
        #expect(frames[1] == .tooLong(70 * 1024))
        #expect(frames[2] == .line(next))
    }

    @Test("an event nested to exactly WireFormat.maxDepth is accepted, one level more is invalid_json")
    func depthThroughTheEnvelope() throws {
        // The envelope is level 1, data level 2.
        func data(depth: Int) -> String { String(repeating: "{\"d\":", count: depth - 2) + "[]" + String(repeating: "}", count: depth - 2) }
        let deepest = Envelope.event.with("data", data(depth: WireFormat.maxDepth)).line
        #expect(throws: Never.self) { try Event.decode(line: deepest) }
        let tooDeep = Envelope.event.with("data", data(depth: WireFormat.maxDepth + 1)).line
        #expect(decodeError(tooDeep)?.reason == .invalidJSON)
        #expect(decodeError(tooDeep)?.detail.contains("nesting deeper than \(WireFormat.maxDepth)") == true)
    }

    // MARK: Numbers

    @Test(
        "integers out of range for an envelope field are invalid_field naming it",
        arguments: ["v", "pid", "fence", "seq"])
    func integerFieldOutOfRange(_ key: String) throws {
        for json in ["99999999999999999999", "-99999999999999999999", "9223372036854775808", "1e3", "1.5"] {
            let error = try #require(decodeError(Envelope.event.with(key, json)), "\(key)=\(json) accepted")
            #expect(error.reason == .invalidField, "\(key)=\(json): \(error)")
            #expect(error.detail.hasPrefix(key + ":"), "\(key)=\(json): \(error.detail)")
        }
        // No double holds these: the parser refuses them before any field is looked at.
        for json in ["1e400", "-1e400", "1" + String(repeating: "0", count: 400)] {
            let error = try #require(decodeError(Envelope.event.with(key, json)), "\(key)=\(json) accepted")
            #expect(error.reason == .invalidJSON, "\(key)=\(json): \(error)")
            #expect(error.detail.contains("out of range"))
        }
    }

    @Test("NaN and Infinity literals are refused anywhere in an event", arguments: ["NaN", "Infinity", "-Infinity", "nan", "inf", "-inf"])
    func nonFiniteLiterals(_ literal: String) throws {
        for line in [Envelope.event.with("seq", literal).line, Envelope.event.with("data", "{\"x\":\(literal)}").line] {
            let error = try #require(decodeError(line))
            #expect(error.reason == .invalidJSON)
        }
    }

    // MARK: Duplicate keys

    @Test("a duplicated envelope key is invalid_json, with the same or a different value")
    func duplicateEnvelopeKeys() throws {
        for (key, json) in Envelope.event.members {
            for value in [json, "1"] {
                var envelope = Envelope.event
                envelope.members.append((key, value))
                let error = try #require(decodeError(envelope), "\(key) twice was accepted")
                #expect(error.reason == .invalidJSON)
                #expect(error.detail.contains("duplicate key \"\(key)\""))
            }
        }
    }

    @Test("a duplicated key at every depth of data is invalid_json")
    func duplicateKeysAtEveryLevel() throws {
        for level in 2...WireFormat.maxDepth {
            // {"d":{"d":…{"k":1,"k":2}…}} with the duplicate at `level` (the envelope is level 1).
            let inner = "{\"k\":1,\"k\":2,\"j\":[]}"
            let data = String(repeating: "{\"d\":", count: level - 2) + inner + String(repeating: "}", count: level - 2)
            let error = try #require(decodeError(Envelope.event.with("data", data)), "duplicate at level \(level) accepted")
            #expect(error.reason == .invalidJSON, "level \(level): \(error)")
            #expect(error.detail.contains("duplicate key \"k\""))
            // Inside an array too.
            let inArray = Envelope.event.with("data", "{\"a\":[" + inner + "]}")
            #expect(decodeError(inArray)?.reason == .invalidJSON)
        }
    }

    // MARK: Wrong types

    static let jsonKinds = ["null", "true", "0", "7", "-1", "1.5", "\"1\"", "\"ES\"", "[]", "[1]", "{}", "{\"v\":1}"]

    @Test(
        "every envelope field given every other JSON type is invalid_field naming it",
        arguments: ["v", "type", "market", "run_id", "pid", "fence", "seq", "ts", "data"])
    func wrongTypes(_ key: String) throws {
        let expectsInteger = ["v", "pid", "fence", "seq"].contains(key)
        let expectsString = ["type", "market", "run_id", "ts"].contains(key)
        for json in Self.jsonKinds {
            let isInteger = Int64(json) != nil
            let isString = json.hasPrefix("\"")
            let isObject = json.hasPrefix("{")
            if (expectsInteger && isInteger) || (expectsString && isString) || (key == "data" && isObject) { continue }
            let error = try #require(decodeError(Envelope.event.with(key, json)), "\(key)=\(json) accepted")
            #expect(error.reason == .invalidField, "\(key)=\(json): \(error)")
            #expect(error.detail.hasPrefix("\(key): expected"), "\(key)=\(json): \(error.detail)")
        }
    }

    // MARK: Codable wire messages

    static let helloLine = Array(
        #"{"fence":7,"market":"ES","pid":4242,"resume_runs":["ES-1"],"role":"worker","run_id":"ES-2","type":"hello","v":1}"#.utf8)

    @Test(
        "a hello with a field of the wrong type is an error from WireCoding.decode, never a crash",
        arguments: ["v", "type", "role", "market", "run_id", "pid", "fence", "resume_runs"])
    func helloWrongTypes(_ key: String) throws {
        var hello = try #require(try? JSONParser.parse(Self.helloLine).objectValue)
        let good = try WireCoding.decode(Hello.self, from: Self.helloLine)
        #expect(good.role == .worker)
        hello[key] = "@@"
        let template = JSONValue.object(hello).jsonText
        for json in Self.jsonKinds + ["\"robot\"", "99999999999999999999", "2147483648", "[1,2]", "1e400", "NaN"] {
            let line = Array(template.replacingOccurrences(of: "\"@@\"", with: json).utf8)
            let expectedValid: Bool =
                switch key {
                case "v", "fence": Int64(json) != nil
                case "pid": Int32(json) != nil
                case "type", "market", "run_id": json.hasPrefix("\"")
                case "role": false
                case "resume_runs": json == "[]" || json == "null"
                default: false
                }
            let optional = ["market", "run_id", "pid", "fence", "resume_runs"].contains(key)
            do {
                _ = try WireCoding.decode(Hello.self, from: line)
                #expect(expectedValid || (optional && json == "null"), "\(key)=\(json) was accepted")
            } catch {
                #expect(!expectedValid, "\(key)=\(json) was refused: \(error)")
            }
        }
    }

    @Test("a wire message with a duplicated key, at any level, is refused as invalid_json")
    func codableDuplicateKeys() throws {
        // JSONDecoder alone keeps the first of two keys: this hello was a worker.
        let twoRoles = Array(#"{"v":1,"type":"hello","role":"worker","role":"operator"}"#.utf8)
        let error = try #require(throws: LineError.self) { try WireCoding.decode(Hello.self, from: twoRoles) }
        #expect(error.reason == .invalidJSON)
        #expect(error.detail.contains("duplicate key \"role\""))
        let hello = try #require(try? JSONParser.parse(Self.helloLine).objectValue)
        for (key, value) in hello.members {
            var text = JSONValue.object(hello).jsonText
            text.removeLast()
            text += ",\"\(key)\":" + value.jsonText + "}"
            #expect(throws: LineError.self, "\(key) twice") { try WireCoding.decode(Hello.self, from: Array(text.utf8)) }
        }
        for line in [
            #"{"v":1,"type":"welcome","applied":{"ES-1":1,"ES-1":2}}"#, #"{"v":1,"type":"ack","run_id":"a","seq":1,"seq":2}"#,
            #"{"v":1,"type":"hello","role":"worker","resume_runs":["a"],"resume_runs":["b"]}"#,
        ] {
            #expect(throws: LineError.self, "\(line)") {
                _ = try WireCoding.decode(Welcome.self, from: Array(line.utf8))
                _ = try WireCoding.decode(Ack.self, from: Array(line.utf8))
            }
        }
    }

    @Test(
        "what the strict parser refuses, WireCoding.decode refuses with the same LineError",
        arguments: [
            #"{"v":1,"type":"hello","role":"operator",}"#, #"{"v":1,"type":"hello","role":"operator"} x"#,
            #"{"v":01,"type":"hello","role":"operator"}"#, #"{"v":1,"type":"hello","role":"operator","x":NaN}"#,
            #"{"v":1,"type":"hello","role":"operator","x":1e400}"#,
            #"{"v":1,"type":"hello","role":"operator","x":"# + String(repeating: "[", count: 33) + String(repeating: "]", count: 33) + "}",
        ])
    func codableStrictness(_ text: String) throws {
        let strict = try #require(parseError(text), "the strict parser accepts \(text)")
        let error = try #require(throws: LineError.self) { try WireCoding.decode(Hello.self, from: Array(text.utf8)) }
        #expect(error == strict)
        let invalidUTF8 = Array(#"{"v":1,"type":"hello","role":"operator","x":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)
        #expect(throws: LineError(.invalidUTF8, "the line is not valid UTF-8")) { try WireCoding.decode(Hello.self, from: invalidUTF8) }
    }

    @Test("every truncation of a hello, an ack and a welcome is an error, never a crash")
    func codableTruncation() throws {
        let lines: [[UInt8]] = [
            Self.helloLine, Array(WireCoding.line(Ack(runID: "ES-2", seq: 43)).dropLast()),
            Array(WireCoding.line(Welcome(applied: ["ES-2": 42])).dropLast()),
        ]
        for line in lines {
            for length in 0..<line.count {
                let prefix = Array(line[0..<length])
                #expect(throws: (any Error).self, "hello cut at \(length)") { try WireCoding.decode(Hello.self, from: prefix) }
                #expect(throws: (any Error).self, "ack cut at \(length)") { try WireCoding.decode(Ack.self, from: prefix) }
                #expect(throws: (any Error).self, "welcome cut at \(length)") { try WireCoding.decode(Welcome.self, from: prefix) }
            }
        }
    }

    @Test("random edits of a hello never crash the Codable decoder; a hello that decodes round-trips", arguments: propertySeeds)
    func mutatedHello(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for n in 0..<300 {
            var line = Self.helloLine
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<line.count, using: &rng)
                if Bool.random(using: &rng) { line[i] = Self.hostileBytes(&rng, count: 1)[0] } else { line.remove(at: i) }
            }
            if let hello = try? WireCoding.decode(Hello.self, from: line) {
                #expect(
                    (try? WireCoding.decode(Hello.self, from: Array(WireCoding.line(hello).dropLast()))) == hello,
                    "seed \(seed) case \(n): \(String(decoding: line, as: UTF8.self).debugDescription)")
            }
        }
    }
}
