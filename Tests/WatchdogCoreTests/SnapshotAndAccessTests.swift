import Foundation
import Testing
import Wire

@testable import WatchdogCore

/// The snapshot round trip and the operator permission rule.
@Suite struct SnapshotAndAccessTests {
    func folder() throws -> String {
        var template = Array("/tmp/wdcore.XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        return String(cString: p)
    }

    @Test func aSnapshotRoundTripsTheWholeState() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = WatchdogStateTests.start
        var state = WatchdogState(configuredMarkets: ["ES", "NQ"], now: now)
        let t = WatchdogStateTests()
        state.apply(t.event(.lockAcquired, fence: 3, seq: 1), now: now)
        state.apply(t.event(.identityInvariantsStatus, fence: 3, seq: 3, data: ["pass": false, "violations": ["v"]]), now: now)
        state.apply(t.heartbeat(fence: 3), now: now)
        state.countRejection(.invalidUTF8, market: "ES")
        state.tick(now: now.adding(seconds: 0.5), policy: WatchdogStateTests.policy)
        _ = state.acknowledge(market: "ES", alertID: nil, now: now)

        try FileManager.default.createDirectory(atPath: dir + "/watchdog", withIntermediateDirectories: true)
        let file = SnapshotFile(stateDir: dir)
        #expect(try file.load() == nil, "no snapshot yet")
        try file.save(state, at: now)
        var loaded = try #require(try file.load())
        let later = now.adding(seconds: 10)
        loaded.restartClocks(at: later, configuredMarkets: ["ES", "NQ", "CL"])
        state.restartClocks(at: later, configuredMarkets: ["ES", "NQ", "CL"])
        #expect(loaded == state)
        #expect(loaded.markets["ES"]!.appliedSeq("ES-run-a") == 3)
        #expect(loaded.markets["ES"]!.heartbeatState == .late)
        #expect(loaded.markets["CL"] != nil)
        #expect(!FileManager.default.fileExists(atPath: file.path + ".tmp"))
        // Optional fields are written as null, not left out.
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(text.contains("\"last_identity_invariants_pass\":null"))
    }

    @Test func aDamagedSnapshotIsRefusedNamingTheFile() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/watchdog", withIntermediateDirectories: true)
        let file = SnapshotFile(stateDir: dir)
        try Data("{\"v\":1,\"state\":{\"markets\":".utf8).write(to: URL(fileURLWithPath: file.path))
        #expect {
            _ = try file.load()
        } throws: { error in
            "\(error)".contains(file.path) && "\(error)".contains("refusing to start")
        }
    }

    /// A state as the snapshot held it before the alert history and numbering moved into
    /// `AlertLedger` (written by that code): it loads with every value, encodes to the same text,
    /// and numbering goes on from `next_alert_number`. All four keys are required.
    static let earlierState = #"""
        {"alert_history":[{"acknowledged":false,"alert_id":"ES-1","condition":"IDENTITY_VIOLATION","market":"ES",
        "message":"v","metadata":{"event_ts":"2026-11-21T07:15:00.5Z","run_id":"ES-run-a","violations":"v"},
        "occurrences":1,
        "recommended_action":"fix markets.ES in the configuration and send SIGHUP to the worker (pid 4242)",
        "resolved_at_utc":"2026-11-18T11:06:40.000000Z",
        "root_cause":"the market's configuration names a non-canonical stream or instrument","severity":"CRITICAL",
        "timestamp":"2026-11-18T11:06:40.000000Z","title":"ES: identity invariants violated"}],
        "markets":{"ES":{"alerts":[{"acknowledged":false,"alert_id":"ES-2","condition":"SEQUENCE_GAP","market":"ES",
        "message":"run ES-run-a jumped from seq 2 to 5: 2 event(s) never arrived","metadata":{"expected_seq":"3",
        "missing":"2","received_seq":"5","run_id":"ES-run-a"},"occurrences":1,
        "recommended_action":"compare the worker's journal (state\/ES\/events.ndjson) with the watchdog's applied seq; acknowledge once understood",
        "root_cause":"the worker's journal lost lines, or events were sent without their predecessors",
        "severity":"WARNING","timestamp":"2026-11-18T11:06:40.000000Z",
        "title":"ES: events missing from run ES-run-a"}],"canonical_instrument":"ES","counters":{"duplicates":0,
        "events":3,"gaps":2,"heartbeats":0,"refusals":0,"rejected":{"invalid_utf8":1},"stale_fence":0},
        "execution_instrument":null,"fence_high_water":3,"health":null,"heartbeat_age_seconds":0,
        "heartbeat_state":"OK","inhibited_alerts":[],"last_heartbeat_utc":null,
        "last_identity_invariants_event_chicago":"2026-11-21T01:15:00.5-06:00","last_identity_invariants_pass":true,
        "last_identity_violations":[],"last_latch_cleared":null,"last_refusal":null,"latch":null,"lock":null,
        "mode":null,"open_orders":[],"released_cleanly":false,"runs":[{"applied_seq":5,"fence":3,"pid":4242,
        "run_id":"ES-run-a"}],"stream_ids":[]}},"next_alert_number":3,"rejected":{"bad_hello":0,"hello_timeout":0,
        "invalid_field":0,"invalid_json":0,"invalid_utf8":1,"line_too_long":0,"missing_field":0,"not_permitted":0,
        "peer_mismatch":0,"too_many_connections":0,"unsupported_version":0,"wrong_market":0}}
        """#.split(separator: "\n").joined()

    @Test func aStateSavedBeforeTheAlertLedgerLoadsAndEncodesAsItWas() throws {
        let text = Self.earlierState
        var state = try JSONDecoder().decode(WatchdogState.self, from: Data(text.utf8))
        #expect(state.nextAlertNumber == 3)
        // Every reason but `fence_regression`, which came later (issue 21; `restartClocks` adds it at 0).
        #expect(state.rejected.count == RejectionReason.allCases.count - 1)
        #expect(state.rejected["fence_regression"] == nil)
        #expect(state.rejected["invalid_utf8"] == 1)
        #expect(state.rejected["invalid_json"] == 0)
        #expect(state.alertHistory.count == 1)
        let closed = try #require(state.alertHistory.first)
        #expect(closed.alertID == "ES-1")
        #expect(closed.condition == .identityViolation)
        #expect(closed.severity == .critical)
        #expect(closed.metadata["violations"] == "v")
        #expect(closed.resolvedAtUTC == "2026-11-18T11:06:40.000000Z")
        let es = try #require(state.markets["ES"])
        #expect(state.markets.count == 1)
        #expect(es.appliedSeq("ES-run-a") == 5)
        #expect(es.fenceHighWater == 3)
        #expect(es.counters.events == 3)
        #expect(es.counters.gaps == 2)
        #expect(es.counters.rejected == ["invalid_utf8": 1])
        #expect(es.lastIdentityInvariantsPass == true)
        #expect(es.alerts.map(\.alertID) == ["ES-2"])
        #expect(es.alerts.first?.condition == .sequenceGap)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(state), as: UTF8.self) == text)

        // The next new alert takes the saved number.
        let t = WatchdogStateTests()
        state.apply(t.event(.configReloaded, run: "ES-run-b", fence: 2, seq: 1), now: WatchdogStateTests.start)
        #expect(state.markets["ES"]!.alerts.last?.alertID == "ES-3")
        #expect(state.nextAlertNumber == 4)

        for key in ["markets", "rejected", "alert_history", "next_alert_number"] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            object[key] = nil
            let without = try JSONSerialization.data(withJSONObject: object)
            #expect(throws: DecodingError.self, "\(key) is required") { try JSONDecoder().decode(WatchdogState.self, from: without) }
        }
    }

    @Test func onlyRootAndTheWatchdogsOwnUserMayChangeState() {
        #expect(OperatorAccess.mayChangeState(peerUID: 0, ownUID: 1000))
        #expect(OperatorAccess.mayChangeState(peerUID: 1000, ownUID: 1000))
        #expect(!OperatorAccess.mayChangeState(peerUID: 65534, ownUID: 1000))
        #expect(!OperatorAccess.mayChangeState(peerUID: nil, ownUID: 0))
        #expect(OperatorRequest(type: .ack, market: "ES").changesState)
        #expect(!OperatorRequest(type: .status).changesState)
    }

    @Test func theStatusTableShowsBadgesViolationsAndColourOnlyWhenAsked() {
        let now = WatchdogStateTests.start
        var state = WatchdogState(configuredMarkets: ["ES", "NQ"], now: now)
        let t = WatchdogStateTests()
        state.apply(t.event(.lockAcquired, fence: 3, seq: 1, pid: 321), now: now)
        state.apply(
            t.event(.identityInvariantsStatus, fence: 3, seq: 2, data: ["pass": false, "violations": ["stream MES1 is not canonical"]]),
            now: now)
        state.apply(
            t.event(.identityInvariantsStatus, run: "NQ-a", seq: 1, data: ["pass": true, "violations": []], market: "NQ"), now: now)
        let report = StatusReport(
            generatedAtUTC: "", watchdogPID: 1, configuredMarkets: ["ES", "NQ"], markets: state.markets, rejected: state.rejected,
            connections: 0, alertHistory: [])
        let plain = StatusTable(colour: false).render(report)
        #expect(plain.contains("IDENTITY VIOLATION"))
        #expect(plain.contains("IDENTITY OK"))
        #expect(plain.contains("pid 321 fence 3"))
        #expect(plain.contains("    violation: stream MES1 is not canonical"))
        #expect(!plain.contains("\u{1B}["))
        let coloured = StatusTable(colour: true).render(report)
        #expect(coloured.contains("\u{1B}[31mIDENTITY VIOLATION"))
        #expect(coloured.contains("\u{1B}[32mIDENTITY OK"))
        #expect(!report.allHealthy())
    }
}
