import Foundation
import Platform
import Testing
import Wire

/// Health, the fail-safe latch, startup checks and the SIM execution gate with real workers
/// (issue 6). The market data comes from a file feed the test writes.
@Suite struct WorkerSafetyTests {
    /// A home whose ES worker reads `feed-ES.ndjson` and whose thresholds are seconds, not minutes.
    func home(stalledAfter: Double = 1.5, orderTimeout: Double = 30) throws -> TestHome {
        let home = try TestHome()
        var config = TestConfig()
        config.feeds["ES"] = "{\"kind\": \"file\", \"path\": \"feed-ES.ndjson\"}"
        config.extraSections["safety"] = """
            {"market_data_stale_seconds": 0.6, "market_data_stalled_seconds": \(stalledAfter), "health_interval_seconds": 0.2, \
            "order_timeout_seconds": \(orderTimeout)}
            """
        try home.writeConfig(config)
        _ = FileManager.default.createFile(atPath: home.path + "/feed-ES.ndjson", contents: nil)
        return home
    }

    func sendTick(_ home: TestHome, price: Double, instrument: String = "MES") throws {
        let tick = "{\"instrument\":\"\(instrument)\",\"price\":\(price),\"size\":1,\"time\":\"\(UTCTimestamp.now())\"}\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: home.path + "/feed-ES.ndjson"))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(tick.utf8))
    }

    /// Waits until the worker of `market` serves its control socket (it opens it after its startup
    /// checks, just after its first mode is journaled).
    func waitForControl(_ home: TestHome, _ market: String = "ES") throws {
        let path = home.socketDir + "/worker-\(market).sock"
        try waitFor("\(path) to be served") { UnixSocket.isServing(path) ? true : nil }
    }

    /// Runs `robot-worker order|cancel` against the home; returns the exit status and output.
    func ask(_ home: TestHome, _ arguments: [String]) throws -> (Int32, String) {
        let p = try home.start("robot-worker", arguments, name: "cli")
        let status = try p.waitForExit()
        return (status, p.stdout)
    }

    func mode(_ home: TestHome) -> String? {
        home.events("ES", type: .systemModeChange).last?.data["to"]?.stringValue
    }

    @Test func aStoppedFeedMakesTheWorkerUnhealthyThenLatchesShutdownOrdersBlockedCancelsStillWork() throws {
        let home = try home()
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("AGGRESSIVE", seen: { "\(self.mode(home) ?? "-")" }) { mode(home) == "AGGRESSIVE" ? true : nil }
        try waitForControl(home)
        try sendTick(home, price: 5000)
        // An order that stays open: a buy limit far below the market.
        let (placed, out) = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"])
        #expect(placed == 0, "\(out)")
        let orderID = try #require(home.events("ES", type: .orderPlaced).last?.data["client_order_id"]?.stringValue)
        // The feed now stops.
        let unhealthy = try waitFor("HEALTH_STATUS healthy=false") {
            home.events("ES", type: .healthStatus).first { $0.data["healthy"] == .bool(false) }
        }
        #expect(unhealthy.data["reasons"]?.stringArrayValue?.first?.hasPrefix("market data is") == true)
        let tripped = try waitFor("FAILSAFE_TRIGGERED") { home.events("ES", type: .failsafeTriggered).first }
        #expect(tripped.data["trigger"]?.stringValue == "MARKET_DATA_STALLED")
        #expect(tripped.seq! > unhealthy.seq!, "unhealthy first, then the fail-safe")
        #expect(mode(home) == "SHUTDOWN")
        #expect(home.events("ES", type: .failsafeTriggered).count == 1)
        let (blocked, blockedOut) = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1"])
        #expect(blocked == 1)
        #expect(blockedOut.contains("blocked: the worker is in SHUTDOWN"), "\(blockedOut)")
        #expect(home.events("ES", type: .orderBlocked).last?.data["mode"]?.stringValue == "SHUTDOWN")
        let (cancelled, cancelOut) = try ask(home, ["cancel", "--market", "ES", orderID])
        #expect(cancelled == 0, "\(cancelOut)")
        #expect(home.events("ES", type: .orderCancelled).last?.data["client_order_id"]?.stringValue == orderID)
        // Data coming back does not unlatch it.
        try sendTick(home, price: 5001)
        try waitFor("the tick to be read") { home.events("ES", type: .healthStatus).last { $0.data["healthy"] == .bool(true) } }
        #expect(mode(home) == "SHUTDOWN")

        // SIGKILL and restart: it comes back latched, never AGGRESSIVE.
        worker.signal(SIGKILL)
        try worker.waitForExit()
        let restarted = try home.start("robot-worker", ["--market", "ES"])
        let firstMode = try waitFor("the restarted worker's first mode") {
            home.events("ES", type: .systemModeChange).first { $0.pid == restarted.pid }
        }
        #expect(firstMode.data["to"]?.stringValue == "SHUTDOWN")
        #expect(
            firstMode.data["reason"]?.stringValue?.contains("MARKET_DATA_STALLED") == true
                || firstMode.data["reason"]?.stringValue?.contains("no market data") == true)
        #expect(
            !home.events("ES").contains {
                $0.pid == restarted.pid && $0.type == EventType.systemModeChange.rawValue && $0.data["to"] == "AGGRESSIVE"
            })
    }

    @Test(arguments: ["duplicate", "reordered", "truncated"])
    func aDamagedJournalStartsTheWorkerInObserveOnlyNamingTheCheck(_ damage: String) throws {
        let home = try home(stalledAfter: 60)
        defer { home.cleanup() }
        let first = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("three events") { home.events("ES").filter { $0.seq != nil }.count >= 5 ? true : nil }
        first.signal(SIGTERM)
        try first.waitForExit()
        var lines = try String(contentsOfFile: home.journal("ES"), encoding: .utf8).split(separator: "\n").map(String.init)
        switch damage {
        case "duplicate": lines.insert(lines[1], at: 2)
        case "reordered": lines.swapAt(1, 2)
        default: lines[1] = String(lines[1].prefix(30))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: home.journal("ES"), atomically: true, encoding: .utf8)
        let second = try home.start("robot-worker", ["--market", "ES"])
        let checks = try waitFor("STARTUP_CHECKS of the second run") {
            home.events("ES", type: .startupChecks).first { $0.pid == second.pid }
        }
        #expect(checks.data["passed"] == .bool(false))
        let failed = checks.data["checks"]?.arrayValue?.compactMap(\.objectValue).filter { $0["passed"] == .bool(false) }.compactMap {
            $0["name"]?.stringValue
        }
        #expect(failed == ["event_log_integrity"])
        let mode = try waitFor("the second run's mode") { home.events("ES", type: .systemModeChange).first { $0.pid == second.pid } }
        #expect(mode.data["to"]?.stringValue == "OBSERVE_ONLY")
        let aside = try FileManager.default.contentsOfDirectory(atPath: home.stateDir + "/ES").filter {
            $0.hasPrefix("events.ndjson.damaged-")
        }
        #expect(aside.count == 1, "the damaged journal is kept aside: \(aside)")
        try waitForControl(home)
        let (blocked, _) = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1"])
        #expect(blocked == 1)
    }

    @Test func aSimMarketOrderOnMESFillsAtTheFeedPriceWithEveryFieldAndIdentityStillPasses() throws {
        let home = try home(stalledAfter: 60)
        defer { home.cleanup() }
        try home.start("robot-worker", ["--market", "MES"])
        try waitFor("AGGRESSIVE") { mode(home) == "AGGRESSIVE" ? true : nil }
        try waitForControl(home)
        let (placed, out) = try ask(home, ["order", "--market", "MES", "--side", "buy", "--qty", "3", "--stream", "ES2"])
        #expect(placed == 0, "\(out)")
        try sendTick(home, price: 5012.25)
        let fill = try waitFor("ORDER_FILLED") { home.events("ES", type: .orderFilled).first }
        #expect(fill.data["symbol"]?.stringValue == "MES")
        #expect(fill.data["side"]?.stringValue == "BUY")
        #expect(fill.data["quantity"]?.intValue == 3)
        #expect(fill.data["fill_price"]?.doubleValue == 5012.25)
        #expect(fill.data["stream"]?.stringValue == "ES2")
        #expect(fill.data["client_order_id"]?.stringValue?.hasPrefix("SIM-ES-F\(fill.fence)-") == true)
        let identity = home.events("ES", type: .identityInvariantsStatus)
        #expect(!identity.isEmpty && identity.allSatisfy { $0.data["pass"] == .bool(true) })
    }

    @Test func aLimitOrderThatNeverFillsTimesOutAndASecondEntryOnTheStreamIsRejected() throws {
        let home = try home(stalledAfter: 60, orderTimeout: 1)
        defer { home.cleanup() }
        try home.start("robot-worker", ["--market", "ES"])
        try waitFor("AGGRESSIVE") { mode(home) == "AGGRESSIVE" ? true : nil }
        try waitForControl(home)
        let (placed, _) = try ask(home, ["order", "--market", "ES", "--side", "sell", "--qty", "1", "--limit", "99999"])
        #expect(placed == 0)
        let (second, secondOut) = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1"])
        #expect(second == 1)
        #expect(secondOut.contains("already has open order SIM-ES-F1-000001"), "\(secondOut)")
        try sendTick(home, price: 5000)
        let timeout = try waitFor(
            "ORDER_TIMEOUT", timeout: 5, seen: { "\(home.events("ES").map(\.type).filter { $0 != "HEARTBEAT" && $0 != "HEALTH_STATUS" })" }
        ) {
            home.events("ES", type: .orderTimeout).first
        }
        #expect(timeout.data["client_order_id"]?.stringValue == "SIM-ES-F1-000001")
        #expect(timeout.data["status"]?.stringValue == "TIMED_OUT")
        #expect(home.events("ES", type: .orderFilled).isEmpty)
    }
}
