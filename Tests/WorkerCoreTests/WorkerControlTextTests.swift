import Foundation
import Testing
import Wire

@testable import WorkerCore

/// The control socket's hand-written text (`WorkerControlText.swift`) against the types' `Codable`
/// forms: a request is read as `JSONDecoder` reads it and refused where it refuses it; an answer
/// reads back as itself and has exactly the encoder's keys.
@Suite struct WorkerControlTextTests {
    static let valid = [
        #"{"v":1,"type":"order","side":"buy","quantity":1,"stream":"ES1"}"#,
        #"{"v":1,"type":"order","side":"SELL","quantity":3,"stream":"ES2","limit":4999.25}"#,
        #"{"v":1,"type":"order","side":"buy","quantity":2,"limit":5000}"#,
        #"{"v":1,"type":"cancel","client_order_id":"SIM-ES-F3-000001","extra":{"x":[1,2]}}"#,
        #"{"v":1,"type":"orders","side":null,"quantity":null}"#,
        #"{"v":2,"type":"positions"}"#,
    ]
    static let invalid = [
        #"{"type":"order","side":"buy","quantity":1}"#, // no v
        #"{"v":1,"side":"buy"}"#, // no type
        #"{"v":"1","type":"orders"}"#,
        #"{"v":1,"type":"order","side":"buy","quantity":"1"}"#,
        #"{"v":1,"type":"order","side":"buy","quantity":1.5}"#,
        #"{"v":1,"type":"order","side":7,"quantity":1}"#,
        #"{"v":1,"type":"order","side":"buy","quantity":1,"limit":"5000"}"#,
        #"{"v":1,"type":"cancel","client_order_id":42}"#,
        #"[1,2]"#, "not json", "",
    ]

    @Test(arguments: valid) func aRequestIsReadAsTheDecoderReadsIt(_ line: String) throws {
        let decoded = try JSONDecoder().decode(WorkerRequest.self, from: Data(line.utf8))
        #expect(WorkerRequest.parse(Array(line.utf8)) == decoded)
    }

    @Test(arguments: invalid) func aRequestTheDecoderRefusesIsRefused(_ line: String) {
        #expect((try? JSONDecoder().decode(WorkerRequest.self, from: Data(line.utf8))) == nil)
        #expect(WorkerRequest.parse(Array(line.utf8)) == nil)
    }

    static var responses: [WorkerResponse] {
        var placed = WorkerResponse(
            ok: true, outcome: "placed", message: "SIM-ES-F3-000001 placed: \"BUY\" 1 MES on ES1 / at market", mode: "AGGRESSIVE",
            orders: WorkerSnapshotTextTests.full.orders)
        placed.v = 1
        var positions = WorkerResponse(ok: true, outcome: "positions", message: "1 positions", mode: "OBSERVE_ONLY")
        positions.positions = WorkerSnapshotTextTests.full.venuePositions
        positions.ledger = ["allocated": 250_000, "available": 249_000.5, "realized_pnl": -12.5]
        return [placed, positions, WorkerResponse(ok: false, outcome: "bad_request", message: "", mode: "SHUTDOWN")]
    }

    @Test func anAnswerReadsBackAsItselfWithTheEncodersKeysInOrder() throws {
        for r in Self.responses {
            let line = r.line
            #expect(line.last == UInt8(ascii: "\n"))
            #expect(try JSONDecoder().decode(WorkerResponse.self, from: Data(line)) == r)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let theirs = try JSONParser.parse(Array(encoder.encode(r)))
            let ours = try JSONParser.parse(line)
            #expect(Self.keyOrder(ours) == Self.keyOrder(theirs))
        }
    }

    /// Every object's keys in written order, depth first.
    static func keyOrder(_ v: JSONValue) -> [String] {
        switch v {
        case .object(let o): return o.members.flatMap { [$0.key] + keyOrder($0.value) }
        case .array(let items): return items.flatMap(keyOrder)
        default: return []
        }
    }
}
