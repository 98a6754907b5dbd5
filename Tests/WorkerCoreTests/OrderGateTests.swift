import Testing
import Wire

@testable import RobotConfig
@testable import WorkerCore

@Suite struct OrderGateTests {
    func invariants(execution: String = "MES", _ streams: [(String, String)]) -> IdentityInvariants {
        IdentityInvariants(canonical: "ES", execution: execution, streams: streams.map { StreamSpec(id: $0.0, instrument: $0.1) })
    }

    @Test func aStreamThatViolatesItsIdentityIsRefusedAndTheOthersTrade() {
        var gate = OrderGate(identityGates: true)
        gate.identity(invariants([("ES1", "NQ"), ("ES2", "ES")]))
        let refusal = gate.refusal(stream: "ES1")
        #expect(refusal?.reason == "IDENTITY_VIOLATION")
        #expect(refusal?.detail.contains("instrument is NQ") == true)
        #expect(gate.refusal(stream: "ES2") == nil)
        #expect(gate.refusals(streams: ["ES1", "ES2"]).count == 1)
        #expect(gate.refusals(streams: ["ES1", "ES2"]).first?.hasPrefix("ES1: IDENTITY_VIOLATION: ") == true)
    }

    @Test func aNonCanonicalStreamIDIsThatStreamsViolation() {
        var gate = OrderGate(identityGates: true)
        gate.identity(invariants([("MES1", "ES"), ("ES2", "ES")]))
        #expect(gate.refusal(stream: "MES1")?.detail.contains("execution instrument MES") == true)
        #expect(gate.refusal(stream: "ES2") == nil)
    }

    @Test func aMissingExecutionInstrumentRefusesEveryStream() {
        var gate = OrderGate(identityGates: true)
        gate.identity(invariants(execution: "", [("ES1", "ES"), ("ES2", "ES")]))
        #expect(gate.refusal(stream: "ES1")?.reason == "IDENTITY_VIOLATION")
        #expect(gate.refusal(stream: "ES2")?.detail.contains("execution instrument is missing") == true)
        #expect(gate.refusals(streams: ["ES1", "ES2"]).count == 1)
        #expect(gate.refusals(streams: ["ES1", "ES2"]).first?.hasPrefix("*: ") == true)
    }

    @Test func theGateReopensWhenTheInvariantsPassAgain() {
        var gate = OrderGate(identityGates: true)
        gate.identity(invariants([("ES1", "NQ")]))
        #expect(gate.refusal(stream: "ES1") != nil)
        gate.identity(invariants([("ES1", "ES")]))
        #expect(gate.refusal(stream: "ES1") == nil)
        #expect(gate.refusals(streams: ["ES1"]).isEmpty)
    }

    @Test func identityGatesOrdersFalseOnlyObserves() {
        var gate = OrderGate(identityGates: false)
        gate.identity(invariants(execution: "", [("ES1", "NQ")]))
        #expect(gate.refusal(stream: "ES1") == nil)
        #expect(gate.refusals(streams: ["ES1"]).isEmpty)
    }

    @Test func theFenceGateHoldsEveryStreamUntilConfirmed() {
        var gate = OrderGate(identityGates: false)
        gate.fence = .awaitingWatchdog
        #expect(gate.refusal(stream: "ES1")?.reason == "FENCE_UNCONFIRMED")
        gate.fence = .regressed(fence: 1, highWater: 2, why: "read-only")
        #expect(gate.refusal(stream: "ES2")?.reason == "FENCE_REGRESSION")
        #expect(gate.refusals(streams: ["ES1"]).first?.hasPrefix("*: FENCE_REGRESSION") == true)
        gate.fence = .confirmed
        #expect(gate.refusal(stream: "ES1") == nil)
    }

    @Test func newClientOrderIDsSkipEveryIDTheHistoryUsed() {
        var e = SimExecution(market: "ES", fence: 1)
        e.usedIDs = ["SIM-ES-F1-000001", "SIM-ES-F1-000002"]
        guard
            case .accepted(let o) = e.place(
                stream: "ES1", symbol: "MES", side: .buy, quantity: 1, limit: nil, mode: .aggressive, now: 0, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        #expect(o.clientOrderID == "SIM-ES-F1-000003")
        e.fence = 4
        guard
            case .accepted(let p) = e.place(
                stream: "ES2", symbol: "MES", side: .buy, quantity: 1, limit: nil, mode: .aggressive, now: 0, nowUTC: "t")
        else {
            Issue.record("not accepted")
            return
        }
        #expect(p.clientOrderID == "SIM-ES-F4-000004")
    }

    @Test func fenceMemoryReadsTheHighestFenceAndEveryPlacedIDFromJournalAndSnapshot() throws {
        func line(_ type: EventType, fence: Int64, seq: Int64, _ data: JSONObject) -> String {
            let e = Event(
                type: type.rawValue, market: "ES", runID: "ES-20260101T000000Z-0000000\(fence)", pid: 10, fence: fence, seq: seq,
                ts: "2026-01-01T00:00:00.000000Z", data: data)
            return String(decoding: e.encodedLine(), as: UTF8.self)
        }
        let journal =
            line(.orderPlaced, fence: 3, seq: 1, ["client_order_id": "SIM-ES-F3-000001"]) + "not an event\n"
            + line(.heartbeat, fence: 2, seq: 2, [:])
        let memory = FenceMemory(journal: Array(journal.utf8), snapshot: nil)
        #expect(memory.highestFence == 3)
        #expect(memory.usedOrderIDs == ["SIM-ES-F3-000001"])
        #expect(FenceMemory(journal: [], snapshot: nil).highestFence == 0)
    }
}
