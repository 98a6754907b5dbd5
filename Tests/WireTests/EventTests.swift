import Testing
import Wire

/// An envelope as ordered (key, JSON text) pairs, so that one field can be dropped or replaced.
struct Envelope {
    var members: [(key: String, json: String)]

    static let event = Envelope(members: [
        ("v", "1"), ("type", "\"CANONICAL_MARKET_LOCK_ACQUIRED\""), ("market", "\"ES\""),
        ("run_id", "\"ES-20261121T071500Z-4f3a9c1b\""), ("pid", "4242"), ("fence", "7"), ("seq", "1"),
        ("ts", "\"2026-11-21T07:15:00.123456Z\""), ("data", "{\"lock_file\":\"/x/canonical_ES.lock\",\"fence\":7}"),
    ])

    static let heartbeat = Envelope(members: [
        ("v", "1"), ("type", "\"HEARTBEAT\""), ("market", "\"ES\""), ("run_id", "\"ES-20261121T071500Z-4f3a9c1b\""),
        ("pid", "4242"), ("fence", "7"), ("ts", "\"2026-11-21T07:15:00.123456Z\""), ("data", "{\"last_seq\":0}"),
    ])

    func without(_ key: String) -> Envelope { Envelope(members: members.filter { $0.key != key }) }

    func with(_ key: String, _ json: String) -> Envelope {
        var copy = self
        if let i = copy.members.firstIndex(where: { $0.key == key }) {
            copy.members[i].json = json
        } else {
            copy.members.append((key, json))
        }
        return copy
    }

    var line: [UInt8] { Array(("{" + members.map { "\"\($0.key)\":\($0.json)" }.joined(separator: ",") + "}").utf8) }
}

func decodeError(_ line: [UInt8]) -> LineError? {
    do {
        _ = try Event.decode(line: line)
        return nil
    } catch {
        return error
    }
}

func decodeError(_ envelope: Envelope) -> LineError? { decodeError(envelope.line) }

@Suite("Event")
struct EventTests {
    static let sample = Event(
        type: "CANONICAL_MARKET_LOCK_ACQUIRED", market: "ES", runID: "ES-20261121T071500Z-4f3a9c1b", pid: 4242, fence: 7,
        seq: 3, ts: "2026-11-21T07:15:00.123456Z",
        data: [
            "lock_file": "/srv/robot/runtime_locks/canonical_ES.lock", "fence": 7, "note": "quote \" and\nnewline", "z": nil,
            "a": .double(0.5), "list": ["x", 1, true],
        ])

    @Test("an event with seq round-trips through encodedLine and decode")
    func roundTripWithSeq() throws {
        let line = Self.sample.encodedLine()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let decoded = try Event.decode(line: Array(line.dropLast()))
        #expect(decoded == Self.sample)
        #expect(decoded.data.keys == ["lock_file", "fence", "note", "z", "a", "list"])
        #expect(decoded.encodedLine() == line)
    }

    @Test("a heartbeat has no seq and round-trips")
    func roundTripHeartbeat() throws {
        let heartbeat = Event(
            type: "HEARTBEAT", market: "ES", runID: "R-1", pid: 41, fence: 3, seq: nil, ts: "2026-11-21T07:15:00.123456Z",
            data: ["last_seq": 5])
        #expect(heartbeat.isHeartbeat)
        #expect(!Self.sample.isHeartbeat)
        let line = heartbeat.encodedLine()
        let expected =
            #"{"v":1,"type":"HEARTBEAT","market":"ES","run_id":"R-1","pid":41,"fence":3,"ts":"2026-11-21T07:15:00.123456Z","data":{"last_seq":5}}"#
            + "\n"
        #expect(String(decoding: line, as: UTF8.self) == expected)
        #expect(try Event.decode(line: Array(line.dropLast())) == heartbeat)
        // The trailing newline is whitespace to the parser.
        #expect(try Event.decode(line: line) == heartbeat)
    }

    @Test("the envelope is written in a fixed order, seq between fence and ts")
    func encodedOrder() {
        let text = String(decoding: Self.sample.encodedLine(), as: UTF8.self)
        #expect(
            text.hasPrefix(
                #"{"v":1,"type":"CANONICAL_MARKET_LOCK_ACQUIRED","market":"ES","run_id":"ES-20261121T071500Z-4f3a9c1b","pid":4242,"fence":7,"seq":3,"ts":"2026-11-21T07:15:00.123456Z","data":{"#
            ))
    }

    @Test("envelope keys may come in any order")
    func anyOrder() throws {
        let reversed = Envelope(members: Envelope.event.members.reversed())
        #expect(try Event.decode(line: reversed.line) == Event.decode(line: Envelope.event.line))
        let event = try Event.decode(line: Envelope.event.line)
        #expect(event.seq == 1)
        #expect(event.pid == 4242)
        #expect(event.fence == 7)
        #expect(event.data["fence"] == .int(7))
    }

    @Test("fence 0 is allowed: a refused worker that never held the lock emits fence 0")
    func fenceZero() throws {
        let event = try Event.decode(line: Envelope.event.with("fence", "0").line)
        #expect(event.fence == 0)
        let heartbeat = try Event.decode(line: Envelope.heartbeat.with("fence", "0").line)
        #expect(heartbeat.fence == 0)
        let refused = Event(
            type: "CANONICAL_MARKET_ALREADY_ACTIVE", market: "NQ", runID: "NQ-1", pid: 9, fence: 0, seq: 1,
            ts: "2026-01-01T00:00:00.000000Z", data: [:])
        #expect(try Event.decode(line: refused.encodedLine()) == refused)
    }

    @Test("a line that is JSON but not an object is invalid_field", arguments: ["[1]", "\"x\"", "1", "null", "true"])
    func notAnObject(_ text: String) throws {
        let error = try #require(decodeError(Array(text.utf8)))
        #expect(error.reason == .invalidField)
        #expect(error.detail == "the line is not a JSON object")
    }

    @Test("parse failures keep their reason")
    func parseReasons() {
        #expect(decodeError(Array("{\"v\":1,}".utf8))?.reason == .invalidJSON)
        #expect(decodeError([0x7B, 0xC0, 0xAF, 0x7D])?.reason == .invalidUTF8)
    }

    @Test(
        "each missing envelope field is missing_field naming it",
        arguments: ["v", "type", "market", "run_id", "pid", "fence", "ts", "data", "seq"])
    func missingField(_ key: String) throws {
        let error = try #require(decodeError(Envelope.event.without(key)))
        #expect(error.reason == .missingField)
        #expect(error.detail == key)
    }

    @Test(
        "each missing envelope field of a heartbeat is missing_field naming it",
        arguments: ["v", "type", "market", "run_id", "pid", "fence", "ts", "data"])
    func missingHeartbeatField(_ key: String) throws {
        let error = try #require(decodeError(Envelope.heartbeat.without(key)))
        #expect(error.reason == .missingField)
        #expect(error.detail == key)
    }

    @Test("a version other than 1 is unsupported_version", arguments: ["2", "0", "-1", "100"])
    func unsupportedVersion(_ v: String) throws {
        let error = try #require(decodeError(Envelope.event.with("v", v)))
        #expect(error.reason == .unsupportedVersion)
        #expect(error.detail.contains("v=\(v)"))
    }

    @Test(
        "a field of the wrong type is invalid_field naming it",
        arguments: [
            ("v", "\"1\""), ("v", "1.0"), ("v", "null"), ("type", "1"), ("type", "null"), ("market", "null"), ("market", "[\"ES\"]"),
            ("run_id", "[]"), ("run_id", "7"), ("pid", "\"4242\""), ("pid", "4242.0"), ("pid", "true"), ("fence", "true"),
            ("fence", "7.5"), ("fence", "\"7\""), ("seq", "\"1\""), ("seq", "1.0"), ("ts", "123"), ("ts", "{}"), ("data", "[]"),
            ("data", "null"), ("data", "\"{}\""),
        ])
    func wrongType(_ key: String, _ json: String) throws {
        let error = try #require(decodeError(Envelope.event.with(key, json)))
        #expect(error.reason == .invalidField)
        #expect(error.detail.hasPrefix(key + ": expected"), "\(error.detail)")
    }

    @Test("an unknown envelope key is invalid_field naming it")
    func unknownKey() throws {
        let error = try #require(decodeError(Envelope.event.with("extra", "1")))
        #expect(error.reason == .invalidField)
        #expect(error.detail == "unknown envelope key \"extra\"")
        // Keys are case-sensitive.
        let upper = try #require(decodeError(Envelope.event.without("pid").with("PID", "4242")))
        #expect(upper.reason == .invalidField)
        #expect(upper.detail.contains("PID"))
    }

    @Test("a HEARTBEAT carrying a seq is invalid_field")
    func heartbeatWithSeq() throws {
        let error = try #require(decodeError(Envelope.heartbeat.with("seq", "4")))
        #expect(error.reason == .invalidField)
        #expect(error.detail == "seq: a HEARTBEAT carries no seq")
    }

    @Test(
        "out-of-range and malformed values are invalid_field naming the field",
        arguments: [
            ("pid", "0"), ("pid", "-1"), ("pid", "2147483648"), ("fence", "-1"), ("fence", "-9223372036854775808"),
            ("seq", "0"), ("seq", "-3"),
            ("ts", "\"2026-11-21T07:15:00Z\""), ("ts", "\"2026-13-01T00:00:00.0Z\""), ("ts", "\"2026-11-21 07:15:00.1Z\""),
            ("ts", "\"yesterday\""), ("ts", "\"\""),
            ("market", "\"es\""), ("market", "\"Es\""), ("market", "\"\""), ("market", "\"1ES\""), ("market", "\"E S\""),
            ("market", "\"ES/../x\""), ("market", "\"ABCDEFGHIJKLMNOPQ\""),
            ("type", "\"heartbeat\""), ("type", "\"\""), ("type", "\"LOCK-ACQUIRED\""),
            ("run_id", "\"\""), ("run_id", "\"a/b\""), ("run_id", "\"a b\""),
        ])
    func outOfRange(_ key: String, _ json: String) throws {
        let error = try #require(decodeError(Envelope.event.with(key, json)), "\(key)=\(json) was accepted")
        #expect(error.reason == .invalidField)
        #expect(error.detail.hasPrefix(key + ": "), "\(error.detail)")
    }

    @Test("the boundaries that are allowed")
    func allowedBoundaries() throws {
        #expect(try Event.decode(line: Envelope.event.with("pid", "2147483647").line).pid == Int32.max)
        #expect(try Event.decode(line: Envelope.event.with("seq", "9223372036854775807").line).seq == Int64.max)
        #expect(try Event.decode(line: Envelope.event.with("market", "\"ABCDEFGHIJKLMNOP\"").line).market == "ABCDEFGHIJKLMNOP")
        #expect(try Event.decode(line: Envelope.event.with("market", "\"M2K_1\"").line).market == "M2K_1")
        #expect(try Event.decode(line: Envelope.event.with("ts", "\"2026-11-21T07:15:00.1Z\"").line).ts == "2026-11-21T07:15:00.1Z")
        #expect(try Event.decode(line: Envelope.event.with("data", "{}").line).data == JSONObject())
    }
}
