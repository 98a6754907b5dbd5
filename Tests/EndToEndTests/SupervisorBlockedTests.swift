import Foundation
import Testing

/// A market another executor holds is BLOCKED, never retried, until an operator starts it (issue 4, test 4).
@Suite struct SupervisorBlockedTests {
    @Test func aMarketHeldByAHandStartedWorkerIsBlockedAfterOneAttemptAndStartsOnRequestLater() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        let hand = try home.start("robot-worker", ["--market", "MES"])
        let held = try home.acquired("ES", pid: hand.pid)
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "BLOCKED", "NQ": "RUNNING", "CL": "RUNNING"])
        let es = try #require(status.market("ES"))
        #expect(es["last_exit"]?.objectValue?["status"]?.intValue == 100)
        #expect(es["restarts"]?.intValue == 0)
        // Let time pass, measured in NQ heartbeats (0.2 s each): ten times the first backoff delay.
        let heartbeats = home.events("NQ", type: .heartbeat).count
        try waitFor("five more NQ heartbeats") { home.events("NQ", type: .heartbeat).count >= heartbeats + 5 ? true : nil }
        let refusals = home.events("ES", type: .alreadyActive)
        #expect(refusals.count == 1, "one attempt only: \(refusals.map(\.pid))")
        #expect(refusals.first?.data["holder_pid"]?.intValue == Int64(hand.pid))
        #expect(try home.waitForStates(["ES": "BLOCKED"]).market("ES")?["restarts"]?.intValue == 0)
        #expect(supervisor.stderr.contains("BLOCKED, not restarting until an operator starts it"), "\(supervisor.stderr)")

        hand.signal(SIGTERM)
        #expect(try hand.waitForExit() == 0)
        let start = try home.supervisor(["start", "ES"])
        #expect(start.status == 0, "\(start.stdout) \(start.stderr)")
        #expect(start.stdout.hasPrefix("ES: RUNNING (pid "), "\(start.stdout)")
        let after = try home.waitForStates(["ES": "RUNNING"])
        let pid = try #require(after.pid("ES"))
        let acquired = try home.acquired("ES", pid: pid)
        #expect(acquired.fence == held.fence + 1)
    }
}
