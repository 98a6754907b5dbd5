import Foundation
import Platform
import Testing
import Wire

/// The watchdog's life around its state: sd_notify, socket activation, a damaged snapshot, and
/// the worker's side of recovery (a crashed run re-sent by the next one, journal rotation).
@Suite struct WatchdogLifecycleTests {
    @Test func readyWatchdogPingsStatusAndStoppingReachTheNotifySocket() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let listener = try NotifyListener(path: home.path + "/notify.sock")
        let watchdog = try home.start("watchdog", ["run"], environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        try home.start("robot-worker", ["--market", "ES"])
        let pings = try waitFor("READY=1 and four WATCHDOG=1", seen: { "\(listener.assignments.map(\.line))" }) { () -> [Date]? in
            listener.poll()
            let p = listener.assignments.filter { $0.line == "WATCHDOG=1" }.map(\.at)
            return listener.assignments.contains { $0.line == "READY=1" } && p.count >= 4 ? p : nil
        }
        let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }.sorted()
        #expect(gaps[gaps.count / 2] > 0.15 && gaps[gaps.count / 2] < 0.30, "\(gaps)")
        try waitFor("a STATUS= naming markets, connections and alerts", seen: { "\(listener.assignments.map(\.line))" }) { () -> Bool? in
            listener.poll()
            return listener.assignments.contains { $0.line == "STATUS=3 markets, 1 connections, 0 open alerts" } ? true : nil
        }
        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0, "\(watchdog.stderr)")
        listener.poll()
        #expect(listener.assignments.contains { $0.line == "STOPPING=1" })
        #expect(FileManager.default.fileExists(atPath: home.stateDir + "/watchdog/snapshot.json"))
    }

    @Test func theListeningSocketSystemdPassesIsAdopted() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: activate) else { return }
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        try FileManager.default.createDirectory(atPath: home.socketDir, withIntermediateDirectories: true)
        let p = try RunningProcess(
            executable: activate,
            arguments: ["-l", home.watchdogSocket, Binaries.path("watchdog"), "run", "--config", home.configPath, "--home", home.path],
            environment: [:], logPrefix: home.path + "/activate")
        defer {
            p.signal(SIGKILL)
            _ = try? p.waitForExit()
        }
        // The first connection makes systemd-socket-activate exec the watchdog with fd 3.
        let status = try waitFor("the adopted watchdog to answer", seen: { p.stderr }) { home.quickStatus() }
        #expect(status.markets.keys.sorted() == ["CL", "ES", "NQ"])
        #expect(p.stderr.contains("socket passed by systemd, fd 3"), "\(p.stderr)")
        p.signal(SIGTERM)
        #expect(try p.waitForExit() == 0)
        #expect(FileManager.default.fileExists(atPath: home.watchdogSocket), "an adopted socket is systemd's: left in place")
    }

    @Test func aDamagedSnapshotIsRefusedWithStatus65NamingTheFile() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let snapshot = home.stateDir + "/watchdog/snapshot.json"
        try FileManager.default.createDirectory(atPath: home.stateDir + "/watchdog", withIntermediateDirectories: true)
        let damaged = Data("{\"v\":1,\"saved_at_utc\":\"x\",\"state\":{\"markets\":{\"ES\":".utf8)
        try damaged.write(to: URL(fileURLWithPath: snapshot))
        let w = try home.start("watchdog", ["run"])
        #expect(try w.waitForExit() == 65)
        #expect(w.stderr.contains(snapshot), "\(w.stderr)")
        #expect(w.stderr.split(separator: "\n").count == 1)
        #expect(!UnixSocket.isServing(home.watchdogSocket))
        #expect((try? Data(contentsOf: URL(fileURLWithPath: snapshot))) == damaged, "left as it was")
    }

    @Test func aCrashedRunsEventsAreResentByTheNextRunAndARefusalIsDelivered() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        // No watchdog yet: the first run journals, sends nothing, and is killed.
        let first = try home.start("robot-worker", ["--market", "ES"])
        let firstRun = try home.runID("ES", pid: first.pid)
        try waitFor("a few heartbeats of the first run") { home.events("ES", type: .heartbeat).count >= 3 ? true : nil }
        first.signal(SIGKILL)
        try first.waitForExit()
        let firstLast = home.lastSeq("ES", runID: firstRun)

        try home.startWatchdog()
        let second = try home.start("robot-worker", ["--market", "ES"])
        let secondRun = try home.runID("ES", pid: second.pid)
        let refused = try home.start("robot-worker", ["--market", "MES"])
        #expect(try refused.waitForExit() == 100)
        let es = try waitFor(
            "the first run's events applied, the refusal counted", seen: { "\(home.quickStatus()?.markets["ES"]?.runs ?? [])" }
        ) {
            () -> StatusJSON.Market? in
            let m = home.quickStatus()?.markets["ES"]
            return m?.applied(firstRun) == firstLast && m?.counters.refusals == 1 && m?.lock?.runId == secondRun ? m : nil
        }
        #expect(es.alerts.contains { $0.condition == "LOCK_HOLDER_CRASHED" && $0.metadata["previous_run_id"] == firstRun })
        #expect(es.counters.gaps == 0)
        #expect(es.alerts.allSatisfy { $0.condition != "FENCE_REGRESSION" })
    }

    @Test func theJournalIsRotatedOnceEverythingInItIsAcked() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.invariantsInterval = 0.01
        config.extraSections["worker"] = #"{"journal_max_bytes": 8192}"#
        try home.writeConfig(config)
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let runID = try home.runID("ES", pid: worker.pid)
        let rotated = home.stateDir + "/ES/events.1.ndjson"
        try waitFor("events.1.ndjson", seen: { worker.stderr }) { FileManager.default.fileExists(atPath: rotated) ? true : nil }
        let old = (FileManager.default.contents(atPath: rotated) ?? Data()).split(separator: UInt8(ascii: "\n"))
            .compactMap { try? Event.decode(line: Array($0)) }
        let oldLast = try #require(old.compactMap(\.seq).max())
        #expect(old.count > 20)
        // Everything in the rotated file had been acked, so applied (and durable) by then.
        let applied = try #require(home.quickStatus()?.markets["ES"]?.applied(runID))
        #expect(applied >= oldLast)
        #expect(worker.stderr.contains("rotated"), "\(worker.stderr)")
    }
}
