import Foundation
import Testing
import Wire

/// Each process's /metrics scraped like Prometheus does, validated by prometheus_client's parser,
/// and checked against what happened (issue 7).
@Suite struct MetricsTests {
    /// One market (ES) is enough here and keeps the machine quiet.
    func config() -> TestConfig {
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES"), ("ES2", "ES")])]
        return c
    }

    func counts(_ events: [Event]) -> [String: Int] {
        events.reduce(into: [:]) { $0[$1.type, default: 0] += 1 }
    }

    @Test func aWorkersMetricsMatchItsJournalOrdersAndFence() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let port = try MetricsProbe.freePort()
        try home.writeConfig(config().withMetrics(workerPorts: ["ES": port]))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try home.acquired("ES", pid: worker.pid)
        // The control socket opens after the startup checks, with the first mode.
        try waitFor("the worker to reach AGGRESSIVE") {
            home.events("ES", type: .systemModeChange).last { $0.pid == worker.pid }?.data["to"] == "AGGRESSIVE" ? true : nil
        }
        // An order that stays open (a buy limit far below any price), so the counts stay put.
        let order = try home.start("robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"], name: "cli")
        #expect(try order.waitForExit() == 0, "\(order.stdout) \(order.stderr)")
        try waitFor("ORDER_PLACED") { home.events("ES", type: .orderPlaced).first }
        try MetricsProbe.waitForScrape(port: port, "the order in robot_orders_total") {
            $0.value("robot_orders_total", ["market": "ES", "outcome": "placed"]) == 1 ? true : nil
        }

        // The scrape lies between two readings of the journal.
        let journalBefore = home.events("ES")
        let scraped = try MetricsProbe.scrape(port: port)
        let journalAfter = home.events("ES")
        let before = counts(journalBefore)
        let after = counts(journalAfter)
        #expect(home.events("ES").allSatisfy { $0.runID == acquired.runID }, "one run only in this home")
        for type in EventType.allCases.map(\.rawValue) {
            let value = try #require(scraped.value("robot_events_emitted_total", ["market": "ES", "type": type]), "\(type) is exported")
            let low = before[type] ?? 0
            let high = after[type] ?? 0
            if low == high, type != EventType.heartbeat.rawValue {
                #expect(Int(value) == low, "\(type): metric \(value), journal \(low)")
            } else {
                // A heartbeat may be journaled a moment before its metric is counted.
                #expect(Int(value) >= low - 1 && Int(value) <= high, "\(type): metric \(value), journal \(low)...\(high)")
            }
        }
        #expect(scraped.families["robot_events_emitted"] == "counter")
        #expect(scraped.value("robot_orders_total", ["market": "ES", "outcome": "placed"]) == 1)
        #expect(scraped.value("robot_orders_total", ["market": "ES", "outcome": "blocked"]) == 0)
        #expect(scraped.value("robot_orders_total", ["market": "ES", "outcome": "filled"]) == 0)
        #expect(scraped.value("robot_worker_fence", ["market": "ES"]) == Double(acquired.fence))
        #expect(scraped.value("robot_worker_mode", ["market": "ES", "mode": "AGGRESSIVE"]) == 1)
        #expect(scraped.value("robot_worker_mode", ["market": "ES", "mode": "SHUTDOWN"]) == 0)
        #expect(scraped.value("robot_worker_failsafe_latched", ["market": "ES"]) == 0)
        #expect(scraped.value("robot_worker_identity_pass", ["market": "ES"]) == 1)
        #expect(scraped.value("robot_journal_write_failures_total", ["market": "ES"]) == 0)
        let total = Double(before.values.reduce(0, +))
        let totalAfter = Double(after.values.reduce(0, +))
        let syncs = try #require(scraped.value("robot_journal_fsync_seconds_count", ["market": "ES"]))
        #expect(
            syncs >= total - 1 && syncs <= totalAfter, "one completed fdatasync per journaled event (counted by the journal, not per event)"
        )
        #expect(scraped.families["robot_journal_fsync_seconds"] == "histogram")
        let size = Double((try? FileManager.default.attributesOfItem(atPath: home.journal("ES"))[.size] as? Int) ?? 0)
        let bytes = try #require(scraped.value("robot_journal_bytes", ["market": "ES"]))
        #expect(bytes > 0 && bytes <= size)
        // No watchdog runs here: every event of the run stays in the outbox, unacked.
        let seqBefore = journalBefore.compactMap(\.seq).max() ?? 0
        let seqAfter = journalAfter.compactMap(\.seq).max() ?? 0
        let unacked = try #require(scraped.value("robot_unacked_events", ["market": "ES"]))
        #expect(unacked >= Double(seqBefore - 1) && unacked <= Double(seqAfter), "unacked \(unacked), last seq \(seqBefore)...\(seqAfter)")
        #expect((scraped.value("robot_process_resident_memory_bytes") ?? 0) > 1_000_000)
        let started = try #require(scraped.value("robot_process_start_time_seconds"))
        #expect(abs(Date().timeIntervalSince1970 - started) < 120, "a Unix timestamp, not an age")
        let heartbeat = try #require(scraped.value("robot_worker_last_heartbeat_timestamp_seconds", ["market": "ES"]))
        #expect(abs(Date().timeIntervalSince1970 - heartbeat) < 30)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func theSupervisorCountsASigkilledWorkersRestartBySignal() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let supervisorPort = try MetricsProbe.freePort()
        let workerPort = try MetricsProbe.freePort()
        try home.writeConfig(config().supervised().withMetrics(supervisorPort: supervisorPort, workerPorts: ["ES": workerPort]))
        let supervisor = try home.startSupervisor()
        let before = try home.waitForStates(["ES": "RUNNING"])
        let pid = try #require(before.pid("ES"))
        let first = try MetricsProbe.waitForScrape(port: supervisorPort, "ES up") {
            $0.value("robot_supervisor_worker_up", ["market": "ES"]) == 1 ? $0 : nil
        }
        for cause in ["exit", "signal", "watchdog_timeout", "start_timeout"] {
            #expect(first.value("robot_supervisor_restarts_total", ["market": "ES", "cause": cause]) == 0, "\(cause) starts at 0")
        }
        #expect(first.value("robot_supervisor_worker_state", ["market": "ES", "state": "RUNNING"]) == 1)
        let fence = try MetricsProbe.waitForScrape(port: workerPort, "the worker's metrics") {
            $0.value("robot_worker_fence", ["market": "ES"])
        }

        kill(pid, SIGKILL)
        let after = try MetricsProbe.waitForScrape(port: supervisorPort, "restarts{cause=signal} 1 and ES RUNNING again") {
            $0.value("robot_supervisor_restarts_total", ["market": "ES", "cause": "signal"]) == 1
                && $0.value("robot_supervisor_worker_up", ["market": "ES"]) == 1 ? $0 : nil
        }
        #expect(after.value("robot_supervisor_restarts_total", ["market": "ES", "cause": "exit"]) == 0)
        #expect(after.value("robot_supervisor_restarts_total", ["market": "ES", "cause": "watchdog_timeout"]) == 0)
        #expect(after.value("robot_supervisor_watchdog_timeouts_total", ["market": "ES"]) == 0)
        #expect(after.value("robot_supervisor_readiness_timeouts_total", ["market": "ES"]) == 0)
        #expect(after.value("robot_supervisor_worker_state", ["market": "ES", "state": "BACKOFF"]) == 0)
        #expect(after.families["robot_supervisor_restarts"] == "counter")
        // The new worker serves on the same port, with the next fence.
        try MetricsProbe.waitForScrape(port: workerPort, "the new worker's fence \(fence + 1)") {
            $0.value("robot_worker_fence", ["market": "ES"]) == fence + 1 ? true : nil
        }
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit() == 0)
    }

    @Test func onlyGetMetricsIsServedOtherPathsAre404OtherMethods405() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let port = try MetricsProbe.freePort()
        try home.writeConfig(config().withMetrics(workerPorts: ["ES": port]))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try MetricsProbe.waitForScrape(port: port, "the first scrape") { _ in true }
        #expect(try MetricsProbe.request(port: port, path: "/nope").status == 404)
        #expect(try MetricsProbe.request(port: port, path: "/").status == 404)
        let post = try MetricsProbe.request(port: port, method: "POST")
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET")
        #expect(try MetricsProbe.request(port: port, method: "DELETE").status == 405)
        #expect(try MetricsProbe.request(port: port, path: "/metrics?x=1").status == 200)
        // Scrape latency, HTTP only (no parsing), while the worker heartbeats every 0.2 s.
        var times: [Double] = []
        for _ in 0..<50 {
            let start = Date()
            let answer = try MetricsProbe.request(port: port)
            times.append(Date().timeIntervalSince(start) * 1000)
            #expect(answer.status == 200)
        }
        times.sort()
        print("scrape latency over 50 GETs: median \(String(format: "%.2f", times[25])) ms, max \(String(format: "%.2f", times[49])) ms")
        #expect(times[25] < 20, "median scrape measured 0.7-4.1 ms")
        #expect(worker.isRunning)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func aTakenPortIsLoggedOnceAndTheWorkerRunsWithoutMetrics() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let port = try MetricsProbe.freePort()
        let occupant = try MetricsProbe.occupy(port: port)
        defer { close(occupant) }
        try home.writeConfig(config().withMetrics(workerPorts: ["ES": port]))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        _ = try home.acquired("ES", pid: worker.pid)
        try waitFor("the metrics line", seen: { worker.stderr }) {
            worker.stderr.contains("cannot serve metrics on 127.0.0.1:\(port): the port is already in use") ? true : nil
        }
        try waitFor("heartbeats after it") { home.events("ES", type: .heartbeat).count >= 3 ? true : nil }
        #expect(worker.isRunning, "monitoring never stops a worker")
        #expect(worker.stderr.components(separatedBy: "running without metrics").count == 2, "one line: \(worker.stderr)")
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func underSystemdTheWorkerWritesStructuredJournalFieldsOneEntryPerStateChange() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config())
        let journald = try NotifyListener(path: home.path + "/journal.sock")
        let worker = try home.start(
            "robot-worker", ["--market", "ES"], environment: ["ROBOT_JOURNAL_SOCKET": journald.path], journalStream: true)
        let acquired = try home.acquired("ES", pid: worker.pid)
        func entries() -> [[String: String]] {
            journald.poll()
            return journald.messages.map { m in
                var fields: [String: String] = [:]
                for line in m.text.split(separator: "\n") {
                    guard let eq = line.firstIndex(of: "=") else { continue }
                    fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
                }
                return fields
            }
        }
        let lock = try waitFor("the lock entry", seen: { "\(entries())" }) {
            entries().first { $0["EVENT"] == "CANONICAL_MARKET_LOCK_ACQUIRED" }
        }
        #expect(lock["MARKET"] == "ES")
        #expect(lock["RUN_ID"] == acquired.runID)
        #expect(lock["FENCE"] == String(acquired.fence))
        #expect(lock["SYSLOG_IDENTIFIER"] == "robot-worker")
        #expect(lock["PRIORITY"] == "6")
        #expect(lock["MESSAGE"]?.hasPrefix("ES: lock ") == true)
        try waitFor("ten heartbeats") { home.events("ES", type: .heartbeat).count >= 10 ? true : nil }
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
        let all = entries()
        let released = try #require(all.first { $0["EVENT"] == "CANONICAL_MARKET_LOCK_RELEASED" }, "\(all)")
        #expect(released["RUN_ID"] == acquired.runID && released["MARKET"] == "ES")
        #expect(all.count <= 3, "one entry per state change, none per heartbeat: \(all)")
        #expect(!worker.stderr.contains("lock"), "journal entries are not repeated on stderr: \(worker.stderr)")
    }

    @Test func underSystemdTheSupervisorAndItsWorkersWriteMarketAndEventFields() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config().supervised())
        let journald = try NotifyListener(path: home.path + "/journal.sock")
        let supervisor = try home.start(
            "supervisor", ["run"], environment: ["ROBOT_JOURNAL_SOCKET": journald.path], name: "supervisor-run", journalStream: true)
        try home.waitForStates(["ES": "RUNNING"])
        func entries() -> [[String: String]] {
            journald.poll()
            return journald.messages.map { m in
                Dictionary(
                    m.text.split(separator: "\n").compactMap { line in
                        line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
                    }, uniquingKeysWith: { a, _ in a })
            }
        }
        let running = try waitFor("MARKET_RUNNING", seen: { "\(entries())" }) {
            entries().first { $0["SYSLOG_IDENTIFIER"] == "supervisor" && $0["EVENT"] == "MARKET_RUNNING" }
        }
        #expect(running["MARKET"] == "ES")
        #expect(running["MESSAGE"]?.contains("ready") == true)
        // The worker inherits stderr and the environment, so it journals too, with its run and fence.
        let worker = try waitFor("the worker's lock entry", seen: { "\(entries())" }) {
            entries().first { $0["SYSLOG_IDENTIFIER"] == "robot-worker" && $0["EVENT"] == "CANONICAL_MARKET_LOCK_ACQUIRED" }
        }
        #expect(worker["MARKET"] == "ES" && worker["FENCE"] == "1" && worker["RUN_ID"]?.hasPrefix("ES-") == true)
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit() == 0)
        #expect(supervisor.stderr.isEmpty, "\(supervisor.stderr)")
    }
}
