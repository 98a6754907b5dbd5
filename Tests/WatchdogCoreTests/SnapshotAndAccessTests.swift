import Foundation
import IPC
import Testing

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
        state.apply(t.event(.identityInvariantsStatus, fence: 3, seq: 2, data: ["pass": false, "violations": ["stream MES1 is not canonical"]]), now: now)
        state.apply(t.event(.identityInvariantsStatus, run: "NQ-a", seq: 1, data: ["pass": true, "violations": []], market: "NQ"), now: now)
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
