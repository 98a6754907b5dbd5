import Foundation
import Platform
import Testing
import Wire

/// A worker whose event loop is stuck while its other threads run (issue 22). SIGSTOP freezes every
/// thread, so it cannot tell a `WATCHDOG=1` sent from the loop from one sent by a timer thread; the
/// test-only `wedge` request (`ROBOT_TEST_ALLOW_WEDGE=1`, docs/robot-worker.md) blocks only the
/// reactor thread, and the `/metrics` thread keeps answering. The supervisor must still replace
/// the worker within its watchdog timeout. (The systemd side: scenarios/systemd/check-units.)
@Suite struct WorkerWedgedLoopTests {
    /// Sends `{"type":"wedge"}` on the worker's control socket; the answer's outcome.
    static func wedge(_ home: TestHome, _ market: String) throws -> String {
        let client = try LineClient(path: home.socketDir + "/worker-\(market).sock")
        try client.send(Array("{\"v\":1,\"type\":\"wedge\"}\n".utf8))
        let answer = try JSONParser.parse(client.readLine(timeoutSeconds: 5)).objectValue
        return answer?["outcome"]?.stringValue ?? "no outcome"
    }

    @Test func aWorkerWhoseLoopIsWedgedWhileItsThreadsRunIsReplacedWithinTheWatchdogTimeout() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var timings = SupervisorTimings()
        timings.watchdog = 1.0
        timings.watchdogKillGrace = 0.3
        let port = try MetricsProbe.freePort()
        try home.writeConfig(TestConfig().supervised(timings).withMetrics(workerPorts: ["ES": port]))
        let supervisor = try home.startSupervisor(environment: ["ROBOT_TEST_ALLOW_WEDGE": "1"])
        let before = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let oldPid = try #require(before.pid("ES"))
        let old = try home.acquired("ES", pid: oldPid)
        try waitFor("ES's /metrics to answer") { (try? MetricsProbe.request(port: port))?.status == 200 ? true : nil }

        let wedged = Date()
        #expect(try Self.wedge(home, "ES") == "wedged")
        // A wedged loop never takes SIGTERM (it is read by the loop): if the supervisor failed to
        // replace it, the test still ends it, by pid.
        defer { if isAlive(oldPid) { kill(oldPid, SIGKILL) } }
        // Its other threads run: /metrics still answers, and the process is not stopped.
        let scrape = try MetricsProbe.request(port: port, timeout: 2)
        #expect(scrape.status == 200, "the /metrics thread runs while the loop is wedged")
        #expect(isAlive(oldPid))
        let next = try waitFor("a new ES worker after the watchdog timeout", timeout: 10, seen: { supervisor.stderr }) {
            home.events("ES", type: .lockAcquired).last { $0.pid != oldPid }
        }
        let replaced = Date().timeIntervalSince(wedged)
        print("wedged loop: wedge -> new ES worker holding the lock in \(Int(replaced * 1000)) ms (watchdog 1 s, pings every 0.5 s)")
        #expect(next.fence == old.fence + 1)
        #expect(!isAlive(oldPid), "the wedged worker is gone")
        // The last ping came at most half a period before the wedge, so the timeout fires 0.5 to
        // 1 s after it; SIGABRT (whose Swift backtrace may outlast the 0.3 s grace, then SIGKILL);
        // then the restart. Measured 1.28 s on a loaded 2-core machine; a doubled timeout or grace
        // would pass 2 s.
        #expect(replaced < 1.0 + 0.3 + 0.7, "replaced after \(replaced) s: the watchdog timeout is 1 s, the grace 0.3 s")
        #expect(replaced > 0.5, "the supervisor waited for the timeout (\(replaced) s)")
        let log = supervisor.stderr
        #expect(log.contains("ES pid \(oldPid) sent no WATCHDOG=1 for 1.0 s: watchdog timeout; SIGABRT now"), "\(log)")
        let status = try home.waitForStates(["ES": "RUNNING"])
        #expect(status.market("ES")?["last_exit"]?.objectValue?["reason"]?.stringValue == "watchdog timeout")
    }

    @Test func withoutTheTestVariableTheWedgeRequestIsRefusedAndTheWorkerRunsOn() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let path = home.socketDir + "/worker-ES.sock"
        try waitFor("\(path) to be served") { UnixSocket.isServing(path) ? true : nil }
        #expect(try Self.wedge(home, "ES") == "bad_request")
        // The loop still serves requests.
        let client = try LineClient(path: path)
        try client.send(Array("{\"v\":1,\"type\":\"orders\"}\n".utf8))
        let answer = try JSONParser.parse(client.readLine(timeoutSeconds: 5)).objectValue
        #expect(answer?["outcome"]?.stringValue == "orders")
        #expect(isAlive(worker.pid))
    }
}
