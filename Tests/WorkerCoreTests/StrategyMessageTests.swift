import Testing
import Wire

@testable import WorkerCore

/// The strategy's lines: each message parsed, each malformed line named.
@Suite struct StrategyMessageTests {
    func parse(_ text: String) -> Result<StrategyMessage, StrategyMessage.Malformed> {
        Array(text.utf8).withUnsafeBufferPointer { StrategyMessage.parse($0) }
    }

    @Test func everyMessage() {
        #expect(parse(#"{"v":1,"type":"ready"}"#) == .success(.ready))
        #expect(parse(#"{"type":"heartbeat"}"#) == .success(.heartbeat))
        #expect(parse(#"{"v":1,"type":"log","level":"warning","message":"hi"}"#) == .success(.log(level: "warning", message: "hi")))
        #expect(
            parse(#"{"v":1,"type":"cancel","client_order_id":"SIM-ES-F1-000001","tag":"c"}"#)
                == .success(.cancel(clientOrderID: "SIM-ES-F1-000001", tag: "c")))
        #expect(
            parse(#"{"v":1,"type":"order","stream":"ES1","side":"buy","quantity":2,"order_type":"limit","limit_price":5000.25,"tag":"a"}"#)
                == .success(.order(.init(stream: "ES1", side: .buy, quantity: 2, limitPrice: 5000.25, tag: "a"))))
        #expect(
            parse(#"{"v":1,"type":"order","side":"SELL","quantity":1}"#)
                == .success(.order(.init(stream: nil, side: .sell, quantity: 1, limitPrice: nil, tag: nil))))
    }

    @Test(arguments: [
        ("garbage", "not JSON", false),
        ("[1]", "expected a JSON object", false),
        (#"{"v":2,"type":"ready"}"#, "v: expected 1", false),
        (#"{"v":1}"#, "type: missing", false),
        (#"{"v":1,"type":"dance"}"#, "is not one of", false),
        (#"{"v":1,"type":"order","side":"hold","quantity":1,"tag":"x"}"#, "side", true),
        (#"{"v":1,"type":"order","side":"buy","quantity":0}"#, "quantity", true),
        (#"{"v":1,"type":"order","side":"buy","quantity":1.5}"#, "quantity", true),
        (#"{"v":1,"type":"order","side":"buy","quantity":1,"order_type":"limit"}"#, "limit_price", true),
        (#"{"v":1,"type":"order","side":"buy","quantity":1,"order_type":"market","limit_price":1}"#, "market order has none", true),
        (#"{"v":1,"type":"order","side":"buy","quantity":1,"order_type":"stop"}"#, "order_type", true),
        (#"{"v":1,"type":"log","level":"loud","message":"x"}"#, "level", false),
        (#"{"v":1,"type":"cancel"}"#, "client_order_id", false),
    ])
    func malformed(text: String, detail: String, isOrder: Bool) {
        guard case .failure(let m) = parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(m.detail.contains(detail), "\(m.detail)")
        #expect(m.isOrder == isOrder)
    }

    @Test func theTickLineIsValidJSONWithEveryField() throws {
        let line = StrategyOutput.tick(
            Tick(instrument: "MES", price: 5000.25, size: 3, time: "2026-12-04T18:00:00.000Z"), seq: 7, monotonicNanos: 42)
        #expect(line.last == UInt8(ascii: "\n"))
        guard case .object(let o) = try JSONParser.parse(Array(line.dropLast())) else { throw TestFailure() }
        #expect(o["type"]?.stringValue == "tick" && o["v"]?.intValue == 1 && o["seq"]?.intValue == 7)
        #expect(o["price"]?.doubleValue == 5000.25 && o["instrument"]?.stringValue == "MES" && o["mono_ns"]?.intValue == 42)
    }

    struct TestFailure: Error {}
}
