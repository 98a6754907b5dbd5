import Testing
import Wire

@Suite("RejectionReason")
struct RejectionReasonTests {
    @Test("raw values are the snake_case names they are counted under")
    func rawValues() {
        let expected: [(RejectionReason, String)] = [
            (.lineTooLong, "line_too_long"), (.invalidUTF8, "invalid_utf8"), (.invalidJSON, "invalid_json"),
            (.invalidField, "invalid_field"), (.missingField, "missing_field"), (.unsupportedVersion, "unsupported_version"),
            (.wrongMarket, "wrong_market"), (.badHello, "bad_hello"), (.peerMismatch, "peer_mismatch"),
            (.helloTimeout, "hello_timeout"), (.notPermitted, "not_permitted"), (.tooManyConnections, "too_many_connections"),
            (.fenceRegression, "fence_regression"),
        ]
        for (reason, name) in expected {
            #expect(reason.rawValue == name)
            #expect(RejectionReason(rawValue: name) == reason)
        }
        #expect(RejectionReason.allCases.count == expected.count)
        #expect(Set(RejectionReason.allCases.map(\.rawValue)) == Set(expected.map(\.1)))
    }

    @Test("a LineError prints as reason: detail")
    func lineErrorDescription() {
        let error = LineError(.missingField, "seq")
        #expect(error.description == "missing_field: seq")
        #expect(error.offset == nil)
        #expect(LineError(.invalidJSON, "x", offset: 4).offset == 4)
    }
}

@Suite("WireMessages")
struct WireMessagesTests {
    func text(_ line: [UInt8]) -> String { String(decoding: line, as: UTF8.self) }

    @Test(
        "acks and applied notices built directly are the bytes the Codable encoder writes",
        arguments: ["ES-20261121T071500Z-4f3a9c1b", "a", "quote\" back\\slash /é"])
    func directLines(_ run: String) {
        for seq: Int64 in [1, 43, Int64.max] {
            #expect(Ack(runID: run, seq: seq).line == WireCoding.line(Ack(runID: run, seq: seq)), "ack \(run) \(seq)")
            #expect(Applied(runID: run, seq: seq).line == WireCoding.line(Applied(runID: run, seq: seq)), "applied \(run) \(seq)")
        }
    }

    @Test("a worker hello uses snake_case keys and decodes back")
    func workerHello() throws {
        let hello = Hello(
            role: .worker, market: "ES", runID: "ES-20261121T071500Z-4f3a9c1b", pid: 4242, fence: 7,
            resumeRuns: ["ES-20261120T071500Z-00000001"])
        let line = WireCoding.line(hello)
        #expect(
            text(line)
                == #"{"fence":7,"market":"ES","pid":4242,"resume_runs":["ES-20261120T071500Z-00000001"],"role":"worker","run_id":"ES-20261121T071500Z-4f3a9c1b","type":"hello","v":1}"#
                + "\n")
        #expect(!text(line).contains("runID"))
        #expect(!text(line).contains("resumeRuns"))
        let decoded = try WireCoding.decode(Hello.self, from: Array(line.dropLast()))
        #expect(decoded == hello)
        #expect(decoded.runID == "ES-20261121T071500Z-4f3a9c1b")
        #expect(decoded.resumeRuns == ["ES-20261120T071500Z-00000001"])
    }

    @Test("an operator hello leaves the worker fields out")
    func operatorHello() throws {
        let hello = Hello(role: .operator)
        let line = WireCoding.line(hello)
        #expect(text(line) == #"{"role":"operator","type":"hello","v":1}"# + "\n")
        #expect(try WireCoding.decode(Hello.self, from: Array(line.dropLast())) == hello)
    }

    @Test("a hello written by hand with snake_case keys decodes")
    func handWrittenHello() throws {
        let line = Array(#"{"v":1,"type":"hello","role":"worker","market":"NQ","run_id":"NQ-1","pid":12,"fence":0,"resume_runs":[]}"#.utf8)
        let hello = try WireCoding.decode(Hello.self, from: line)
        #expect(hello == Hello(role: .worker, market: "NQ", runID: "NQ-1", pid: 12, fence: 0, resumeRuns: []))
        // camelCase keys are not the wire names.
        let camel = Array(#"{"v":1,"type":"hello","role":"worker","runID":"NQ-1"}"#.utf8)
        #expect(try WireCoding.decode(Hello.self, from: camel).runID == nil)
        #expect(throws: (any Error).self) { try WireCoding.decode(Hello.self, from: Array(#"{"v":1,"type":"hello","role":"boss"}"#.utf8)) }
    }

    @Test("welcome, ack and error encode and decode")
    func otherMessages() throws {
        let welcome = Welcome(applied: ["ES-20261121T071500Z-4f3a9c1b": 42])
        let welcomeLine = WireCoding.line(welcome)
        #expect(text(welcomeLine) == #"{"applied":{"ES-20261121T071500Z-4f3a9c1b":42},"type":"welcome","v":1}"# + "\n")
        #expect(try WireCoding.decode(Welcome.self, from: Array(welcomeLine.dropLast())) == welcome)

        let ack = Ack(runID: "ES-20261121T071500Z-4f3a9c1b", seq: 43)
        let ackLine = WireCoding.line(ack)
        #expect(text(ackLine) == #"{"run_id":"ES-20261121T071500Z-4f3a9c1b","seq":43,"type":"ack","v":1}"# + "\n")
        #expect(try WireCoding.decode(Ack.self, from: Array(ackLine.dropLast())) == ack)

        let error = WireError(reason: .peerMismatch, detail: "hello pid 12 is not the peer's pid 4242")
        let errorLine = WireCoding.line(error)
        #expect(
            text(errorLine) == #"{"detail":"hello pid 12 is not the peer's pid 4242","reason":"peer_mismatch","type":"error","v":1}"# + "\n"
        )
        #expect(try WireCoding.decode(WireError.self, from: Array(errorLine.dropLast())) == error)
    }

    @Test("every wire line parses with the strict parser too")
    func strictParserAccepts() throws {
        let lines = [
            WireCoding.line(Hello(role: .worker, market: "ES", runID: "R", pid: 1, fence: 1, resumeRuns: ["a/b"])),
            WireCoding.line(Welcome(applied: [:])), WireCoding.line(Ack(runID: "R", seq: 1)),
            WireCoding.line(WireError(reason: .tooManyConnections, detail: "é \"q\"")),
        ]
        for line in lines {
            let value = try JSONParser.parse(Array(line.dropLast()))
            #expect(value.objectValue?["v"] == .int(1))
        }
    }
}
