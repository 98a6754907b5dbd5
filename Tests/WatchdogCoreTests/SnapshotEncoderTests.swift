import Foundation
import Testing
import Wire

@testable import WatchdogCore

/// The snapshot's incremental encoder: what it writes reads back as the state it was given (the
/// same as the reference `SnapshotFile.encode`), and a market only heartbeats or a steady stream of
/// events changed is not encoded again, yet its new heartbeat and applied seq are in the document.
@Suite struct SnapshotEncoderTests {
    let t = WatchdogStateTests()
    let s = WatchdogSafetyStateTests()
    static let start = WatchdogStateTests.start

    /// Three markets with runs, a gap alert, a latch, an open order, health, a rejection, an
    /// acknowledged alert in the history, and a market whose heartbeat is late.
    func richState() -> WatchdogState {
        var state = WatchdogState(configuredMarkets: ["ES", "NQ", "CL"], now: Self.start)
        state.apply(t.event(.lockAcquired, fence: 3, seq: 1), now: Self.start)
        state.apply(
            t.event(.identityInvariantsStatus, fence: 3, seq: 3, data: ["pass": false, "violations": ["v \"quoted\"/x"]]), now: Self.start)
        state.apply(t.heartbeat(fence: 3), now: Self.start)
        state.apply(t.event(.configReloaded, run: "NQ-run-b", seq: 1, market: "NQ"), now: Self.start)
        state.apply(
            t.event(
                .systemModeChange, run: "NQ-run-b", seq: 2,
                data: ["from": "AGGRESSIVE", "to": "SHUTDOWN", "reason": "fail-safe", "latch": WatchdogSafetyStateTests.latch],
                market: "NQ"), now: Self.start)
        state.apply(
            t.event(
                .orderPlaced, run: "NQ-run-b", seq: 3,
                data: [
                    "client_order_id": "SIM-1", "stream": "NQ1", "symbol": "MNQ", "side": "BUY", "quantity": 2, "limit": .double(5001.25),
                ],
                market: "NQ"), now: Self.start)
        state.apply(
            t.event(.healthStatus, run: "NQ-run-b", seq: 4, data: ["healthy": false, "reasons": ["stale"]], market: "NQ"), now: Self.start)
        state.countRejection(.invalidUTF8, market: "ES")
        state.countRejection(.badHello, market: nil)
        _ = state.acknowledge(market: "ES", alertID: nil, now: Self.start)
        state.tick(now: Self.start.adding(seconds: 0.5), policy: WatchdogStateTests.policy)
        return state
    }

    func decode(_ bytes: [UInt8]) throws -> WatchdogState {
        try JSONDecoder().decode(SnapshotFile.Document.self, from: Data(bytes)).state
    }

    func reference(_ state: WatchdogState) throws -> WatchdogState {
        try JSONDecoder().decode(SnapshotFile.Document.self, from: SnapshotFile(stateDir: "/nonexistent").encode(state, at: Self.start))
            .state
    }

    @Test func theDocumentReadsBackAsTheStateLikeTheReferenceEncoding() throws {
        var encoder = SnapshotEncoder()
        let state = richState()
        let bytes = try encoder.encode(state, savedAtUTC: Self.start.utc)
        let read = try decode(bytes)
        #expect(read == (try reference(state)))
        #expect(read.markets["ES"]!.appliedSeq("ES-run-a") == 3)
        #expect(read.markets["NQ"]!.latch?.trigger == "MARKET_DATA_STALLED")
        #expect(read.markets["ES"]!.heartbeatState == .late)
        #expect(read.rejected["bad_hello"] == 1)
        // The document's own keys, as `SnapshotFile.Document` writes them; optional fields null.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(json["v"] as? Int == 1)
        #expect(json["saved_at_utc"] as? String == Self.start.utc)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"last_identity_invariants_pass\":null"))
    }

    @Test func aMarketOnlyAHeartbeatChangedIsNotEncodedAgainButItsHeartbeatIsSaved() throws {
        var encoder = SnapshotEncoder()
        var state = richState()
        _ = try encoder.encode(state, savedAtUTC: Self.start.utc)
        #expect(encoder.marketsEncoded == 3)

        // Heartbeats of every market and the clock moving on: nothing settled changed.
        let later = Self.start.adding(seconds: 0.1)
        state.apply(t.heartbeat(fence: 3, ts: "2026-11-21T07:15:09.000000Z"), now: later)
        state.apply(t.event(.heartbeat, run: "NQ-run-b", seq: nil, ts: "2026-11-21T07:15:09.5Z", market: "NQ"), now: later)
        state.tick(now: later.adding(seconds: 0.3), policy: WatchdogStateTests.policy)
        var bytes = try encoder.encode(state, savedAtUTC: later.utc)
        #expect(encoder.marketsEncoded == 0)
        var read = try decode(bytes)
        #expect(read == (try reference(state)))
        #expect(read.markets["ES"]!.lastHeartbeatUTC == "2026-11-21T07:15:09.000000Z")
        #expect(read.markets["ES"]!.heartbeatState == .ok)
        #expect(read.markets["ES"]!.counters.heartbeats == 2)
        #expect(read.markets["NQ"]!.heartbeatAgeSeconds == state.markets["NQ"]!.heartbeatAgeSeconds)

        // A stream of events that change only runs and counters (feed status): nothing is encoded
        // through JSONEncoder, and the applied seq is in the document.
        state.apply(t.event(.feedStatus, fence: 3, seq: 4, data: ["connected": true]), now: later)
        bytes = try encoder.encode(state, savedAtUTC: later.utc)
        #expect(encoder.marketsEncoded == 0)
        read = try decode(bytes)
        #expect(read.markets["ES"]!.appliedSeq("ES-run-a") == 4)
        #expect(read == (try reference(state)))

        // An event that changes a settled field: that market alone is encoded again.
        state.apply(t.event(.identityInvariantsStatus, fence: 3, seq: 5, data: ["pass": true, "violations": []]), now: later)
        bytes = try encoder.encode(state, savedAtUTC: later.utc)
        #expect(encoder.marketsEncoded == 1)
        read = try decode(bytes)
        #expect(read.markets["ES"]!.lastIdentityInvariantsPass == true)
        #expect(read == (try reference(state)))

        // An alert raised and a market gone: the history and the markets follow.
        state.tick(now: later.adding(seconds: 5), policy: WatchdogStateTests.policy)
        state.markets["CL"] = nil
        bytes = try encoder.encode(state, savedAtUTC: later.utc)
        read = try decode(bytes)
        #expect(read == (try reference(state)))
        #expect(read.markets["CL"] == nil)
    }

    @Test(arguments: [Int64(0), 7, 10, -1, 4242, 1_795_000_000_000_000, Int64.max, Int64.min])
    func integersAreWrittenAsSwiftWritesThem(value: Int64) {
        var out: [UInt8] = []
        SnapshotEncoder.write(value, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(value))
    }
}
