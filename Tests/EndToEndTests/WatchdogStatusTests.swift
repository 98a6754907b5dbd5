import Foundation
import Testing
import Wire

/// `watchdog status` and `watchdog ack` against a real watchdog and real workers (issue 3,
/// tests 1, 5 and 7, the single-instance guard and the acknowledgement permission).
@Suite struct WatchdogStatusTests {
    @Test func threeMarketsShowTheirRealHolderFenceIdentityAndHeartbeatAndStatusExitsZero() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        try home.startWatchdog()
        var pids: [String: Int32] = [:]
        for market in ["ES", "NQ", "CL"] { pids[market] = try home.start("robot-worker", ["--market", market]).pid }
        var fences: [String: Int64] = [:]
        for (market, pid) in pids { fences[market] = try #require(try home.events(market, type: .lockAcquired, pid: pid)).fence }
        let status = try waitFor(
            "three healthy markets in watchdog status --json", seen: { "\(home.quickStatus().map { "\($0.markets)" } ?? "-")" }
        ) {
            () -> StatusJSON? in
            let s = try home.statusJSON()
            return pids.allSatisfy { market, pid in
                let m = s.markets[market]
                return m?.lock?.pid == pid && m?.lastIdentityInvariantsPass == true && m?.heartbeatState == "OK"
                    && m?.lastHeartbeatUtc != nil
            } ? s : nil
        }
        for (market, pid) in pids {
            let m = try #require(status.markets[market])
            #expect(m.lock?.pid == pid)
            #expect(m.lock?.fence == fences[market])
            #expect(m.fenceHighWater == fences[market])
            #expect(m.lastIdentityViolations.isEmpty)
            #expect(
                m.lastIdentityInvariantsEventChicago?.hasSuffix("-06:00") == true
                    || m.lastIdentityInvariantsEventChicago?.hasSuffix("-05:00") == true)
            #expect(m.counters.gaps == 0)
        }
        let table = try home.watchdogCommand(["status"])
        #expect(table.status == 0, "\(table.stdout)\(table.stderr)")
        #expect(table.stdout.components(separatedBy: "IDENTITY OK").count - 1 == 3, "\(table.stdout)")
        #expect(!table.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    }

    @Test func anIdentityViolationBySighupShowsInStatusWithinASecond() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        try home.writeConfig(config)
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("ES identity OK in watchdog status") {
            home.quickStatus()?.markets["ES"]?.lastIdentityInvariantsPass == true ? true : nil
        }
        config.markets["ES"] = ("MES", [("MES1", "ES"), ("ES2", "ES")])
        try home.writeConfig(config)
        let sent = Date()
        worker.signal(SIGHUP)
        let table = try waitFor("IDENTITY VIOLATION in watchdog status", timeout: 5) { () -> CommandResult? in
            let r = try home.watchdogCommand(["status", "ES"])
            return r.stdout.contains("IDENTITY VIOLATION") ? r : nil
        }
        print("\(#function): status: SIGHUP -> IDENTITY VIOLATION in watchdog status in \(Int(Date().timeIntervalSince(sent) * 1000)) ms")
        #expect(Date().timeIntervalSince(sent) < 1.0)
        #expect(table.status == 1, "a violation is unhealthy")
        let violation = try #require(table.stdout.split(separator: "\n").first { $0.contains("violation:") })
        #expect(violation.contains("MES1"), "\(table.stdout)")
        let s = try home.statusJSON()
        #expect(s.markets["ES"]?.alerts.contains { $0.condition == "IDENTITY_VIOLATION" && $0.severity == "CRITICAL" } == true)
    }

    @Test func statusExitsZeroWhenHealthyOneWhenAMarketIsLostThreeWhenTheWatchdogIsNotRunning() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let watchdog = try home.startWatchdog()
        let workers = try ["ES", "NQ", "CL"].map { try home.start("robot-worker", ["--market", $0]) }
        try waitFor("status to exit 0", seen: { (try? home.watchdogCommand(["status"]).stdout) ?? "" }) {
            try home.watchdogCommand(["status"]).status == 0 ? true : nil
        }
        workers[0].signal(SIGSTOP)
        defer { workers[0].signal(SIGCONT) }
        let lost = try waitFor("ES LOST", timeout: 5) { () -> CommandResult? in
            let r = try home.watchdogCommand(["status"])
            return r.stdout.contains("LOST") ? r : nil
        }
        #expect(lost.status == 1, "\(lost.stdout)")

        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0, "\(watchdog.stderr)")
        let down = try home.watchdogCommand(["status"])
        #expect(down.status == 3)
        let lines = down.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(down.stderr)")
        #expect(lines.first?.contains("not running") == true)
        #expect(lines.first?.contains(home.watchdogSocket) == true, "\(down.stderr)")
    }

    @Test func aSecondWatchdogOnTheSameSocketRefusesWithStatus100() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let first = try home.startWatchdog()
        let second = try home.start("watchdog", ["run"], name: "second-watchdog")
        #expect(try second.waitForExit() == 100)
        #expect(second.stderr.contains("another watchdog already serves \(home.watchdogSocket)"), "\(second.stderr)")
        #expect(second.stderr.split(separator: "\n").count == 1)
        #expect(first.isRunning)
        #expect(home.quickStatus() != nil, "the first one still serves")
    }

    @Test func acknowledgingIsRefusedToAnotherUserAndAllowedToRoot() throws {
        guard getuid() == 0 else { return } // setpriv needs root; the rule itself is unit-tested
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.markets["ES"] = ("MES", [("MES1", "ES")])
        try home.writeConfig(config)
        try home.startWatchdog()
        try home.start("robot-worker", ["--market", "ES"])
        let alert = try waitFor("an identity alert") {
            home.quickStatus()?.markets["ES"]?.alerts.first { $0.condition == "IDENTITY_VIOLATION" }
        }
        // Let uid 65534 reach the socket: the folders and the socket open to others.
        for (p, mode) in [(home.path, 0o755), (home.socketDir, 0o755), (home.watchdogSocket, 0o666)] {
            #expect(chmod(p, mode_t(mode)) == 0)
        }
        let nobody = ["/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
        let refused = try home.watchdogCommand(["ack", "ES"], prefix: nobody)
        #expect(refused.status == 77, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("not_permitted"), "\(refused.stderr)")
        let readable = try home.watchdogCommand(["status", "--json"], prefix: nobody)
        #expect(readable.status == 1, "anyone who can connect reads the status: \(readable.stderr)")
        let after = try #require(home.quickStatus())
        #expect(after.rejected["not_permitted"] == 1)
        #expect(after.markets["ES"]?.alerts.first { $0.alertId == alert.alertId }?.acknowledged == false)

        let allowed = try home.watchdogCommand(["ack", "ES", alert.alertId])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("acknowledged \(alert.alertId)"), "\(allowed.stdout)")
        #expect(home.quickStatus()?.markets["ES"]?.alerts.first { $0.alertId == alert.alertId }?.acknowledged == true)
    }
}

extension TestHome {
    /// The journaled event of `type` by `pid` in `market`, once it is there.
    func events(_ market: String, type: EventType, pid: Int32) throws -> Event? {
        try waitFor("\(market) \(type.rawValue) of pid \(pid)") { events(market, type: type).last { $0.pid == pid } }
    }
}
