import Foundation
import Testing
import Wire

/// Hostile clients next to real workers (issue 3, test 6): each is refused and counted under its
/// reason, and the workers are served throughout.
@Suite struct WatchdogHostileInputTests {
    @Test func hostileClientsAreCountedByReasonWhileTheWorkersAreServed() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.invariantsInterval = 0.01
        config.extraSections["watchdog"] = #"{"hello_timeout_seconds": 0.5, "max_connections": 100}"#
        try home.writeConfig(config)
        try home.startWatchdog()
        let workers = try ["ES", "NQ"].map { try home.start("robot-worker", ["--market", $0]) }
        let runs = try zip(["ES", "NQ"], workers).map { (market: $0, runID: try home.runID($0, pid: $1.pid)) }
        let start = try waitFor("both workers healthy in the watchdog") { () -> StatusJSON? in
            let s = home.quickStatus()
            return runs.allSatisfy { s?.markets[$0.market]?.heartbeatState == "OK" && (s?.markets[$0.market]?.applied($0.runID) ?? 0) > 0 }
                ? s : nil
        }
        let me = getpid()

        // A worker hello with our own pid for ES, then junk lines on the bound connection.
        let bound = try RawClient(path: home.watchdogSocket)
        bound.write(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"ES-hostile","pid":\#(me),"fence":0}"# + "\n")
        bound.write([UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20) + [UInt8(ascii: "\n")])
        bound.write([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x7D, 0x0A]) // {"\xC3("}: invalid UTF-8
        bound.write("this is not json\n")
        bound.write(
            #"{"v":1,"type":"HEARTBEAT","market":"NQ","run_id":"NQ-x","pid":1,"fence":9,"ts":"2026-11-21T07:15:00.5Z","data":{}}"# + "\n")
        bound.write(
            #"{"v":2,"type":"X","market":"ES","run_id":"ES-x","pid":1,"fence":1,"seq":1,"ts":"2026-11-21T07:15:00.5Z","data":{}}"# + "\n")
        // Replays the real ES worker's journal on this fence-0 connection: a refused worker speaks
        // only for its own run, so every line is refused (not_permitted), none applied twice.
        let replayed = home.events("ES").filter { $0.runID == runs[0].runID && !$0.isHeartbeat }.prefix(20)
        for e in replayed { bound.write(e.encodedLine()) }
        // A hello naming another process's pid.
        let liar = try RawClient(path: home.watchdogSocket)
        liar.write(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"ES-liar","pid":\#(workers[0].pid),"fence":1}"# + "\n")
        // A first line that is not a hello, and one over the limit.
        let babbler = try RawClient(path: home.watchdogSocket)
        babbler.write("hello?\n")
        let shouter = try RawClient(path: home.watchdogSocket)
        shouter.write([UInt8](repeating: UInt8(ascii: "{"), count: 1 << 20) + [UInt8(ascii: "\n")])
        // One that connects and says nothing, and 200 more at once.
        let silent = try RawClient(path: home.watchdogSocket)
        var crowd: [RawClient] = []
        for _ in 0..<200 { if let c = try? RawClient(path: home.watchdogSocket) { crowd.append(c) } }

        var worst: [String: String] = [:]
        let counted = try waitFor("every hostile input counted", seen: { "\(home.quickStatus()?.rejected ?? [:])" }) { () -> StatusJSON? in
            guard let s = home.quickStatus() else { return nil }
            for r in runs where s.markets[r.market]?.heartbeatState != "OK" { worst[r.market] = s.markets[r.market]?.heartbeatState }
            let r = s.rejected
            let all = [
                "line_too_long", "invalid_utf8", "invalid_json", "wrong_market", "unsupported_version", "peer_mismatch", "bad_hello",
                "hello_timeout", "too_many_connections",
            ]
            return all.allSatisfy { (r[$0] ?? 0) > 0 } ? s : nil
        }
        withExtendedLifetime((bound, liar, babbler, shouter, silent, crowd)) {}
        #expect(counted.rejected["line_too_long"] == 2)
        #expect(counted.rejected["invalid_utf8"] == 1)
        #expect(counted.rejected["invalid_json"] == 1)
        #expect(counted.rejected["wrong_market"] == 1)
        #expect(counted.rejected["unsupported_version"] == 1)
        #expect(counted.rejected["peer_mismatch"] == 1)
        #expect(counted.rejected["bad_hello"] == 1)
        #expect((counted.rejected["too_many_connections"] ?? 0) >= 100)
        let es = try #require(counted.markets["ES"])
        #expect(es.counters.rejected["wrong_market"] == 1)
        #expect(es.counters.rejected["line_too_long"] == 1)
        #expect(es.counters.rejected["invalid_utf8"] == 1)
        #expect(es.counters.rejected["not_permitted"] == Int64(replayed.count))
        #expect(es.lock?.pid == workers[0].pid, "the hostile fence-0 connection changed no holder")
        #expect(counted.markets["NQ"]?.counters.rejected.isEmpty == true)

        // The workers were served throughout, and still are.
        let later = try waitFor("events of both workers still applied") { () -> StatusJSON? in
            let s = home.quickStatus()
            return runs.allSatisfy { (s?.markets[$0.market]?.applied($0.runID) ?? 0) > counted.markets[$0.market]!.applied($0.runID) }
                ? s : nil
        }
        #expect(worst.values.allSatisfy { $0 != "LOST" }, "\(worst)")
        for r in runs {
            let m = try #require(later.markets[r.market])
            #expect(m.heartbeatState == "OK")
            #expect(m.counters.events == m.applied(r.runID), "each event applied once")
            #expect(m.applied(r.runID) > start.markets[r.market]!.applied(r.runID))
        }
        #expect(workers.allSatisfy { $0.isRunning })
        try waitFor("idle connections closed at the hello timeout") { (home.quickStatus()?.connections ?? 99) <= 4 ? true : nil }
    }
}
