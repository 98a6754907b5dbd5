import Foundation
import Testing

/// Ending the supervisor ends every worker and frees every lock (issue 4, test 6).
@Suite struct SupervisorShutdownTests {
    let markets = ["CL", "ES", "NQ"]

    @Test func sigtermStopsEveryWorkerCleanlyAndExitsZero() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let pids = try markets.map { try #require(status.pid($0)) }
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit(timeout: 5) == 0, "\(supervisor.stderr)")
        for (market, pid) in zip(markets, pids) {
            #expect(!isAlive(pid), "\(market) worker \(pid) left behind")
            #expect(home.events(market, type: .lockReleased).last?.pid == pid, "\(market) released its lock")
            #expect(lockIsFree(home.lockFile(market)))
            #expect(supervisor.stderr.contains("\(market) pid \(pid) exited with status 0"), "\(supervisor.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: home.supervisorSocket), "the control socket is removed")
    }

    @Test func afterSigkillOfTheSupervisorEveryWorkerEndsByItselfWithinHalfASecond() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let pids = try markets.map { try #require(status.pid($0)) }
        let killed = Date()
        supervisor.signal(SIGKILL)
        // Measured 20-95 ms (PR_SET_PDEATHSIG, then a clean stop).
        try waitFor("every worker to end", timeout: 0.5, seen: { "\(pids.filter(isAlive))" }) {
            pids.allSatisfy { !isAlive($0) } ? true : nil
        }
        let ended = Date().timeIntervalSince(killed)
        for (market, pid) in zip(markets, pids) {
            #expect(lockIsFree(home.lockFile(market)), "\(market)")
            // PR_SET_PDEATHSIG delivered SIGTERM: a clean release, not a crash.
            #expect(home.events(market, type: .lockReleased).last?.pid == pid, "\(market)")
        }
        print("after SIGKILL of the supervisor every worker ended within \(Int(ended * 1000)) ms")
        #expect(try home.supervisor(["status"]).status == 3)
    }

    @Test func aWorkerWhoseSupervisorIsAlreadyGoneExitsAtOnce() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        // pid 1 is never this worker's parent: the supervisor it names is "gone".
        let worker = try home.start("robot-worker", ["--market", "ES"], environment: ["ROBOT_SUPERVISOR_PID": "999999"])
        #expect(try worker.waitForExit() == 75, "\(worker.stderr)")
        #expect(worker.stderr.contains("the supervisor (pid 999999) is gone"), "\(worker.stderr)")
        #expect(home.events("ES", type: .lockAcquired).isEmpty)
    }
}
