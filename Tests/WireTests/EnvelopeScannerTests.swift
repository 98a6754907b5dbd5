import Platform
import Testing

@testable import Wire

// The fast path of Event.decode (EnvelopeScanner) must agree with the general path (JSONParser,
// then Event.decode(object:)): whatever it accepts, the general path accepts as the same event;
// whatever it does not handle, the general path decides. These tests feed both the same lines.

/// Decodes `line` both ways and checks they agree; returns whether the fast path took it.
@discardableResult
func expectPathsAgree(_ line: [UInt8], _ context: String) -> Bool {
    line.withUnsafeBufferPointer { p in
        let general: Result<Event, LineError>
        do throws(LineError) { general = .success(try Event.decodeGenerally(line: p)) } catch { general = .failure(error) }
        let decoded: Result<Event, LineError>
        do throws(LineError) { decoded = .success(try Event.decode(line: p)) } catch { decoded = .failure(error) }
        #expect(decoded == general, "\(context): Event.decode differs from the general path")
        guard let fast = EnvelopeScanner.event(p) else { return false }
        #expect(general == .success(fast), "\(context): the fast path accepted what the general path gives as \(general)")
        return true
    }
}

@Suite("Event decoding: fast and general paths agree")
struct EnvelopeScannerTests {
    @Test("every event type as a worker writes it takes the fast path and decodes to the same event")
    func workerLinesTakeTheFastPath() {
        for (type, line) in validEventLines {
            #expect(expectPathsAgree(line, "\(type)"), "\(type): a worker's own line fell back to the general path")
        }
    }

    @Test(
        "lines the fast path leaves to the general path decode (or fail) exactly as before",
        arguments: [
            // An escaped key or value, a fraction, an exponent, a long integer: valid JSON, general path.
            #"{"\u0076":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER\u005FPLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1.0,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1e2,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1234567890123456789,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":99999999999999999999,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            // Whitespace everywhere the grammar allows it, -0, 18 digits: still the fast path.
            " {\t\"v\" : 1 ,\"type\":\"ORDER_PLACED\",\"market\":\"ES\",\"run_id\":\"r1\",\"pid\":7,\"fence\":-0,\"seq\":123456789012345678,\"ts\":\"2026-11-21T07:00:00.1Z\",\"data\": { } }\r\n",
            // Refused: leading zero, duplicate key, unknown key, missing seq, seq on a heartbeat, bad ts, trailing bytes.
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":07,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{},"x":0}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"HEARTBEAT","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-02-30T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}} x"#,
            #"{"v":2,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"es","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":2147483648,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":{"a":1,"a":2}}"#,
            #"{"v":1,"type":"ORDER_PLACED","market":"ES","run_id":"r1","pid":7,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":[]}"#,
        ])
    func edgeCases(_ text: String) {
        let line = Array(text.utf8)
        expectPathsAgree(line, text)
        if text.hasPrefix(" {\t") {
            #expect(line.withUnsafeBufferPointer { EnvelopeScanner.event($0) } != nil, "whitespace and -0 should not need the general path")
        }
    }

    @Test("random edits of valid lines: both paths agree on every one", arguments: propertySeeds)
    func mutatedLines(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var fast = 0
        for n in 0..<3_000 {
            let line = CodecPropertyTests.mutatedLine(&rng)
            if expectPathsAgree(line, "seed \(seed) case \(n) line \(String(decoding: line, as: UTF8.self).debugDescription)") { fast += 1 }
        }
        // Edits that keep a line valid (inside a string of data, say) still take the fast path.
        #expect(fast > 0, "seed \(seed): no edited line took the fast path")
    }

    @Test(
        "data objects the skimmer keeps as bytes are exactly those the parser accepts as the same object",
        arguments: [
            #"{}"#, #"{"a":1,"b":-0,"c":0.25,"d":123456789012345678,"e":[true,false,null,"x",{"f":[]}]}"#,
            #"{"text":"é ü 日本","n":-12.5}"#, " { \"a\" : [ 1 , 2 ] } ",
            // Left to the parser (nil), valid: an escape, an exponent, 19 digits, a non-ASCII key.
            #"{"a":"\"quoted\""}"#, #"{"a":1e3}"#, #"{"a":1234567890123456789}"#, #"{"é":1}"#,
            // Left to the parser, invalid: duplicates (also by canonical equivalence), a leading zero,
            // a trailing comma, a control character, nesting too deep.
            #"{"a":1,"a":2}"#, "{\"\u{E9}\":1,\"e\u{301}\":2}", #"{"a":01}"#, #"{"a":1,}"#, "{\"a\":\"\u{1}\"}",
            String(repeating: "{\"d\":", count: 31) + "1" + String(repeating: "}", count: 31),
        ])
    func skimmedData(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { p in
            let start = p.firstIndex(of: UInt8(ascii: "{")) ?? 0
            let parsed: (JSONObject, end: Int)?
            do throws(LineError) { parsed = try JSONParser.parseObject(p, at: start, depth: 2) } catch { parsed = nil }
            guard let end = JSONSkimmer.objectEnd(p, at: start, depth: 2) else { return }
            #expect(parsed?.end == end, "\(text): skimmed to \(end), the parser says \(String(describing: parsed?.end))")
        }
        // Through the whole decoder, both paths agree on it as an event's data.
        let line =
            #"{"v":1,"type":"X","market":"ES","run_id":"r","pid":1,"fence":1,"seq":1,"ts":"2026-11-21T07:00:00.1Z","data":"# + text + "}"
        expectPathsAgree(Array(line.utf8), "data \(text)")
    }

    @Test("a worker's own data stays bytes until read, and reads back as the object it wrote")
    func workerDataIsKeptAsBytes() throws {
        for (type, line) in validEventLines {
            let event = try #require(line.withUnsafeBufferPointer { EnvelopeScanner.event($0) }, "\(type)")
            let general = try Event.decode(line: Array(line))
            #expect(event.data == general.data, "\(type)")
            #expect(Array(event.encodedLine().dropLast()) == line, "\(type): re-encoding a kept data changes the line")
        }
    }

    @Test("random bytes: both paths agree", arguments: propertySeeds)
    func randomBytes(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for n in 0..<1_000 {
            let line = CodecPropertyTests.hostileBytes(&rng, count: Int.random(in: 0...300, using: &rng))
            expectPathsAgree(line, "seed \(seed) case \(n)")
        }
    }
}
