import Foundation
import Testing

/// The watchdog's side of production hardening with real processes (issue 6): one alert per
/// latch, the latch shown in status, and `watchdog ack` clearing it over the worker's live
/// connection, after which (and only after which) orders go through.
@Suite struct WatchdogSafetyTests {
    let safety = WorkerSafetyTests()

    @Test func aStalledFeedLatchesOneCriticalAlertAndOnlyAWatchdogAckLetsOrdersThroughAgain() throws {
        let home = try safety.home()
        defer { home.cleanup() }
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try safety.sendTick(home, price: 5000)
        let latched = try waitFor(
            "ES latched in the watchdog",
            seen: { "\(home.quickStatus()?.markets["ES"].map { "\($0.mode ?? "-") \($0.alerts.map(\.condition))" } ?? "-")" }
        ) {
            () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.latch != nil,
                m.alerts.contains(where: { $0.condition == "FAILSAFE_LATCHED" })
            else { return nil }
            return m
        }
        #expect(latched.mode == "SHUTDOWN")
        #expect(latched.latch?.trigger == "MARKET_DATA_STALLED")
        #expect(latched.alerts.filter { $0.severity == "CRITICAL" }.map(\.condition) == ["FAILSAFE_LATCHED"])
        let table = try home.watchdogCommand(["status", "ES"])
        #expect(table.status == 1)
        #expect(table.stdout.contains("SHUTDOWN (latched)"), "\(table.stdout)")
        #expect(table.stdout.contains("latch: MARKET_DATA_STALLED"), "\(table.stdout)")

        // SIGKILL and restart: latched again, never AGGRESSIVE.
        worker.signal(SIGKILL)
        try worker.waitForExit()
        let restarted = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("the restarted worker connected and latched") { () -> Bool? in
            guard let m = home.quickStatus()?.markets["ES"], m.lock?.pid == restarted.pid, m.mode == "SHUTDOWN", m.latch != nil else {
                return nil
            }
            return true
        }
        try safety.waitForControl(home)
        let (blocked, _) = try safety.ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1"])
        #expect(blocked == 1)
        // Keep the feed alive so the cleared worker stays healthy.
        try safety.sendTick(home, price: 5000.25)

        let ack = try home.watchdogCommand(["ack", "ES"])
        #expect(ack.status == 0, "\(ack.stdout) \(ack.stderr)")
        #expect(ack.stdout.contains("latch cleared by the worker"), "\(ack.stdout)")
        let cleared = try #require(home.events("ES", type: .failsafeCleared).last)
        #expect(cleared.pid == restarted.pid)
        #expect(cleared.data["cleared_by"]?.stringValue?.contains("through watchdog ack") == true)
        #expect(home.events("ES", type: .systemModeChange).last?.data["to"]?.stringValue == "AGGRESSIVE")
        let (placed, out) = try safety.ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1"])
        #expect(placed == 0, "\(out)")
        let after = try #require(home.quickStatus()?.markets["ES"])
        #expect(after.latch == nil)
        #expect(!after.alerts.contains { $0.condition == "FAILSAFE_LATCHED" })
        #expect(home.quickStatus()?.alertHistory.contains { $0.condition == "FAILSAFE_LATCHED" && $0.resolvedAtUtc != nil } == true)
    }

    @Test func anAckForALatchedWorkerThatIsNotConnectedFailsSayingSo() throws {
        let home = try safety.home()
        defer { home.cleanup() }
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("ES latched") { home.quickStatus()?.markets["ES"]?.latch != nil ? true : nil }
        worker.signal(SIGKILL)
        try worker.waitForExit()
        let ack = try home.watchdogCommand(["ack", "ES"])
        #expect(ack.status == 1)
        #expect(ack.stdout.contains("latch stays set: its worker is not connected"), "\(ack.stdout)")
        #expect(home.quickStatus()?.markets["ES"]?.latch != nil)
    }

    @Test func aDamagedJournalIsOneAlertInTheWatchdog() throws {
        let home = try safety.home(stalledAfter: 60)
        defer { home.cleanup() }
        try home.startWatchdog()
        let first = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("a few events") { home.events("ES").filter { $0.seq != nil }.count >= 5 ? true : nil }
        first.signal(SIGTERM)
        try first.waitForExit()
        var lines = try String(contentsOfFile: home.journal("ES"), encoding: .utf8).split(separator: "\n").map(String.init)
        lines.insert(lines[1], at: 2)
        try (lines.joined(separator: "\n") + "\n").write(toFile: home.journal("ES"), atomically: true, encoding: .utf8)
        let second = try home.start("robot-worker", ["--market", "ES"])
        let m = try waitFor("the integrity alert") { () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.lock?.pid == second.pid, !m.alerts.isEmpty else { return nil }
            return m
        }
        #expect(m.alerts.filter { $0.severity == "CRITICAL" }.map(\.condition) == ["INTEGRITY_VIOLATION"], "\(m.alerts.map(\.condition))")
        #expect(m.mode == "OBSERVE_ONLY")
        #expect(m.latch?.trigger == "STARTUP_CHECKS_FAILED")
    }
}
