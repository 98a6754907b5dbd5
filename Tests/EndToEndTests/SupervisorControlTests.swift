import Foundation
import Testing

/// Operator control over the socket: stop/start one market, reload, the single-instance guard and
/// clear errors (issue 4, tests 5 and 7).
@Suite struct SupervisorControlTests {
    @Test func stopReleasesTheLockWhileNQKeepsRunningAndStartBringsItBack() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        try home.startWatchdog()
        _ = try home.startSupervisor()
        let before = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let esPid = try #require(before.pid("ES"))
        let nqPid = try #require(before.pid("NQ"))
        let acquired = try home.acquired("ES", pid: esPid)
        try waitFor("the watchdog to show ES held by pid \(esPid)") { home.quickStatus()?.markets["ES"]?.lock?.pid == esPid ? true : nil }

        let stop = try home.supervisor(["stop", "MES"])
        #expect(stop.status == 0, "\(stop.stdout) \(stop.stderr)")
        #expect(stop.stdout == "ES: STOPPED (stays stopped, across supervisor restarts too, until started)\n")
        // `stop` answers once the worker has ended: everything below holds already.
        #expect(!isAlive(esPid))
        let released = try #require(home.events("ES", type: .lockReleased).last)
        #expect(released.pid == esPid && released.runID == acquired.runID)
        #expect((try? Data(contentsOf: URL(fileURLWithPath: home.lockFile("ES"))))?.isEmpty == true, "a released lock file is empty")
        #expect(lockIsFree(home.lockFile("ES")))
        // The watchdog shows the release (a stopping worker delivers it before it exits), NQ still held.
        try waitFor(
            "the watchdog to show ES released", seen: { "\(home.quickStatus()?.markets["ES"]?.lock.map { "\($0.pid)" } ?? "none")" }
        ) {
            () -> Bool? in
            guard let status = home.quickStatus(), status.markets["ES"]?.lock == nil, status.markets["NQ"]?.lock?.pid == nqPid else {
                return nil
            }
            return true
        }
        let stopped = try home.waitForStates(["ES": "STOPPED", "NQ": "RUNNING"])
        #expect(stopped.pid("NQ") == nqPid)
        #expect(stopped.market("ES")?["pid"] == .null)
        #expect(try home.supervisor(["status"]).status == 1, "a STOPPED market makes status exit 1")

        let start = try home.supervisor(["start", "ES"])
        #expect(start.status == 0, "\(start.stdout) \(start.stderr)")
        let after = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING"])
        let again = try home.acquired("ES", pid: try #require(after.pid("ES")))
        #expect(again.fence == acquired.fence + 1)
        #expect(after.pid("NQ") == nqPid)
        #expect(try home.supervisor(["status"]).status == 0)

        let restart = try home.supervisor(["restart", "ES"])
        #expect(restart.status == 0, "\(restart.stderr)")
        let restarted = try home.waitForStates(["ES": "RUNNING"])
        #expect(restarted.pid("ES") != after.pid("ES"))
        #expect(restarted.market("ES")?["restarts"]?.intValue == 0, "an operator's restart is not counted")
    }

    @Test func reloadStartsAddedMarketsStopsRemovedOnesAndLeavesTheOthers() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.markets = ["ES": ("MES", [("ES1", "ES")]), "NQ": ("MNQ", [("NQ1", "NQ")])]
        try home.writeConfig(config.supervised())
        let supervisor = try home.startSupervisor()
        let before = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING"])
        let esPid = try #require(before.pid("ES"))
        let nqPid = try #require(before.pid("NQ"))

        config.markets = ["NQ": ("MNQ", [("NQ1", "NQ")]), "CL": ("MCL", [("CL1", "CL")])]
        try home.writeConfig(config.supervised())
        let reload = try home.supervisor(["reload"])
        #expect(reload.status == 0, "\(reload.stdout) \(reload.stderr)")
        #expect(reload.stdout == "reloaded; added: CL, removed: ES\n", "\(reload.stdout)")
        let after = try home.waitForStates(["NQ": "RUNNING", "CL": "RUNNING"])
        #expect(after["markets"]?.objectValue?.keys.sorted() == ["CL", "NQ"])
        #expect(after.pid("NQ") == nqPid, "NQ untouched")
        #expect(!isAlive(esPid))
        #expect(home.events("ES", type: .lockReleased).last?.pid == esPid)
        #expect(lockIsFree(home.lockFile("ES")))

        // The same by SIGHUP: ES comes back.
        config.markets["ES"] = ("MES", [("ES1", "ES")])
        try home.writeConfig(config.supervised())
        supervisor.signal(SIGHUP)
        let third = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        #expect(third.pid("NQ") == nqPid)

        // A broken configuration: the client, which reads it to find the socket, says so (78); a
        // SIGHUP is refused by the supervisor, which keeps the running configuration.
        try "{".write(toFile: home.configPath, atomically: true, encoding: .utf8)
        let bad = try home.supervisor(["reload"])
        #expect(bad.status == 78)
        #expect(bad.stderr.contains("robot.json: not valid JSON"), "\(bad.stderr)")
        supervisor.signal(SIGHUP)
        try waitFor("the refusal in the log", seen: { supervisor.stderr }) {
            supervisor.stderr.contains("SIGHUP: reload refused, running configuration kept") ? true : nil
        }
        #expect(supervisor.isRunning)
        #expect(third.pid("NQ") == nqPid && isAlive(nqPid))
    }

    @Test func aSecondSupervisorIsRefusedAndClientsSayClearlyWhatIsWrong() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())

        let absent = try home.supervisor(["status"])
        #expect(absent.status == 3)
        #expect(
            absent.stderr
                == "supervisor: the supervisor is not running: nothing serves \(home.supervisorSocket) (No such file or directory); configuration: \(home.configPath)\n"
        )
        #expect(try home.supervisor(["start", "ES"]).status == 3)

        let first = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let second = try home.startSupervisor()
        #expect(try second.waitForExit() == 100)
        #expect(second.stderr.contains("another supervisor already serves \(home.supervisorSocket)"), "\(second.stderr)")
        #expect(first.isRunning)
        #expect(try home.supervisor(["status"]).status == 0, "the first one still serves")

        let unknown = try home.supervisor(["stop", "MYM"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "supervisor: unknown market MYM (canonical YM); configured: CL, ES, NQ\n", "\(unknown.stderr)")
        let bad = try home.supervisor(["start", "E$"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("is not an instrument"), "\(bad.stderr)")

        let mode = try FileManager.default.attributesOfItem(atPath: home.supervisorSocket)[.posixPermissions] as? Int
        #expect(mode == 0o660)
    }
}

/// State-changing requests only from root or the supervisor's own user.
@Suite struct SupervisorPermissionTests {
    @Test(
        .enabled(
            if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "needs root and setpriv to run a client as another user"))
    func anotherUserMayAskForStatusButNotStopAMarket() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        _ = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        // Let nobody read the configuration and reach the socket; the supervisor still checks the peer's uid.
        chmod(home.path, 0o755)
        chmod(home.configPath, 0o644)
        chmod(home.socketDir, 0o755)
        func asNobody(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let p = try RunningProcess(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", Binaries.path("supervisor")] + arguments
                    + ["--config", home.configPath, "--home", home.path],
                environment: [:], logPrefix: home.path + "/nobody-\(arguments[0])")
            let status = try p.waitForExit()
            return (status, p.stdout, p.stderr)
        }
        let denied = try asNobody(["status"])
        #expect(denied.status == 77, "mode 0660 keeps other users out: \(denied.err)")
        #expect(denied.err.contains("permission denied"), "\(denied.err)")

        chmod(home.supervisorSocket, 0o666)
        let status = try asNobody(["status"])
        #expect(status.status == 0, "status is for everyone who can connect: \(status.err)")
        let stop = try asNobody(["stop", "ES"])
        #expect(stop.status == 77)
        #expect(stop.err.contains("permission denied: uid 65534 may only ask for status"), "\(stop.err)")
        #expect(try home.waitForStates(["ES": "RUNNING"]).market("ES") != nil)
    }
}
