import Foundation
import Platform
import Testing
import Wire

/// Never trading unobserved (issue 14): a worker the watchdog does not answer holds OBSERVE_ONLY
/// (`WATCHDOG_UNREACHABLE`) and returns to AGGRESSIVE by itself once it answers; a watchdog
/// restart shorter than the limit changes nothing. Real processes over real sockets.
@Suite struct WorkerUnobservedTests {
    /// `safety.unobserved_seconds` for these tests (the health interval is short, so a quiet
    /// worker's HEALTH_STATUS is acked well within it).
    static let limit = 2.0

    func config(limit: Double = Self.limit) -> TestConfig {
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES")])]
        c.extraSections["safety"] = "{\"health_interval_seconds\": 0.2, \"unobserved_seconds\": \(limit)}"
        return c
    }

    func ask(_ home: TestHome, _ arguments: [String]) throws -> (status: Int32, out: String) {
        let p = try home.start("robot-worker", arguments, name: "cli")
        let status = try p.waitForExit()
        return (status, p.stdout + p.stderr)
    }

    func modeChanges(_ home: TestHome) -> [Event] { home.events("ES", type: .systemModeChange) }

    func modes(_ home: TestHome) -> String { modeChanges(home).map { $0.data["to"]?.stringValue ?? "?" }.joined(separator: " -> ") }

    func seconds() -> Double { Double(MonotonicClock.nowNanos()) / 1e9 }

    @Test func withoutAWatchdogTheWorkerHoldsObserveOnlyRefusesOrdersCancelsAndReturnsWhenItAnswers() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let port = try MetricsProbe.freePort()
        try home.writeConfig(config().withMetrics(workerPorts: ["ES": port]))
        var watchdog = try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("AGGRESSIVE", seen: { modes(home) }) { modeChanges(home).last?.data["to"]?.stringValue == "AGGRESSIVE" ? true : nil }
        try waitFor("the control socket", seen: { worker.stderr }) { UnixSocket.isServing(home.socketDir + "/worker-ES.sock") ? true : nil }
        // An order that stays open: a buy limit far below the synthetic market.
        let placed = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"])
        #expect(placed.status == 0, "\(placed.out)")
        let orderID = try #require(home.events("ES", type: .orderPlaced).last?.data["client_order_id"]?.stringValue)
        // The watchdog has answered (its acks keep coming) before it goes.
        try waitFor("the watchdog to apply the order", seen: { "\(home.quickStatus()?.markets["ES"]?.openOrders.count ?? -1)" }) {
            home.quickStatus()?.markets["ES"]?.openOrders.isEmpty == false ? true : nil
        }
        #expect(try MetricsProbe.scrape(port: port).value("robot_worker_watchdog_unreachable", ["market": "ES"]) == 0)

        watchdog.signal(SIGKILL)
        _ = try watchdog.waitForExit()
        let killedAt = seconds()
        let unobserved = try waitFor("OBSERVE_ONLY (WATCHDOG_UNREACHABLE)", timeout: 15, seen: { modes(home) }) {
            modeChanges(home).last { $0.data["to"]?.stringValue == "OBSERVE_ONLY" }
        }
        let held = seconds() - killedAt
        let reason = unobserved.data["reason"]?.stringValue ?? ""
        #expect(reason.hasPrefix("WATCHDOG_UNREACHABLE: no answer from the watchdog for"), "\(reason)")
        // Not before the limit (the last ack came at most one health interval before the kill).
        #expect(held > Self.limit - 0.5, "OBSERVE_ONLY after \(held) s, limit \(Self.limit) s")
        #expect(unobserved.data["latch"] == .null, "not a latch")
        #expect(try MetricsProbe.scrape(port: port).value("robot_worker_watchdog_unreachable", ["market": "ES"]) == 1)
        #expect(try MetricsProbe.scrape(port: port).value("robot_worker_mode", ["market": "ES", "mode": "OBSERVE_ONLY"]) == 1)

        let refused = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"])
        #expect(refused.status == 1, "\(refused.out)")
        #expect(refused.out.contains("blocked: the worker is in OBSERVE_ONLY (WATCHDOG_UNREACHABLE"), "\(refused.out)")
        let blocked = try #require(home.events("ES", type: .orderBlocked).last)
        #expect(blocked.data["reason"]?.stringValue?.hasPrefix("WATCHDOG_UNREACHABLE") == true)
        let cancelled = try ask(home, ["cancel", "--market", "ES", orderID])
        #expect(cancelled.status == 0, "\(cancelled.out)")
        #expect(home.events("ES", type: .orderCancelled).last?.data["client_order_id"]?.stringValue == orderID)

        // The watchdog comes back: the worker returns to AGGRESSIVE with no operator.
        watchdog = try home.startWatchdog()
        let back = try waitFor("AGGRESSIVE again", timeout: 15, seen: { modes(home) }) {
            modeChanges(home).last.flatMap { $0.data["to"]?.stringValue == "AGGRESSIVE" && $0.seq! > unobserved.seq! ? $0 : nil }
        }
        #expect(back.data["reason"]?.stringValue?.hasPrefix("the watchdog answers again after") == true, "\(back.data)")
        #expect(modes(home) == "AGGRESSIVE -> OBSERVE_ONLY -> AGGRESSIVE")
        #expect(home.events("ES", type: .failsafeCleared).isEmpty, "no operator, no latch")
        let again = try ask(home, ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"])
        #expect(again.status == 0, "\(again.out)")
        #expect(try MetricsProbe.scrape(port: port).value("robot_worker_watchdog_unreachable", ["market": "ES"]) == 0)
        // The watchdog saw it all (delivered from the journal once it was back).
        try waitFor("the watchdog to see AGGRESSIVE", seen: { home.quickStatus()?.markets["ES"]?.mode ?? "-" }) {
            home.quickStatus()?.markets["ES"]?.mode == "AGGRESSIVE" ? true : nil
        }
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func theSupervisorsStatusShowsAWorkerNobodyWatches() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config().supervised())
        let supervisor = try home.startSupervisor()
        func workerStatus() -> String {
            ((try? home.supervisorStatus())??.market("ES")?["worker_status"]?.stringValue) ?? "-"
        }
        try waitFor("worker_status with WATCHDOG_UNREACHABLE", timeout: 20, seen: { workerStatus() }) {
            workerStatus().contains("OBSERVE_ONLY (WATCHDOG_UNREACHABLE)") ? true : nil
        }
        let text = try home.supervisor(["status"])
        #expect(text.stdout.contains("WATCHDOG_UNREACHABLE"), "\(text.stdout)")
        try home.startWatchdog()
        try waitFor("worker_status AGGRESSIVE", timeout: 15, seen: { workerStatus() }) {
            let s = workerStatus()
            return s.contains("AGGRESSIVE") && !s.contains("WATCHDOG_UNREACHABLE") ? true : nil
        }
        supervisor.signal(SIGTERM)
        _ = try supervisor.waitForExit(timeout: 15)
    }

    @Test func aWatchdogKilledAndRestartedUnderTheLimitChangesNoMode() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let limit = 4.0
        try home.writeConfig(config(limit: limit).supervised())
        var watchdog = try home.startWatchdog()
        let supervisor = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING"], timeout: 20)
        try waitFor("AGGRESSIVE", seen: { modes(home) }) { modeChanges(home).last?.data["to"]?.stringValue == "AGGRESSIVE" ? true : nil }
        let before = modeChanges(home).count
        let runID = try #require(modeChanges(home).last?.runID)

        watchdog.signal(SIGKILL)
        _ = try watchdog.waitForExit()
        let killedAt = seconds()
        watchdog = try home.startWatchdog()
        #expect(seconds() - killedAt < limit / 2, "the restart took \(seconds() - killedAt) s")
        // Past the limit since the kill, the new watchdog has applied the worker's events of that moment.
        let seqAfterLimit = try waitFor("an event journaled \(limit + 1) s after the kill", timeout: 20) { () -> Int64? in
            seconds() - killedAt > limit + 1 ? home.events("ES").last { $0.runID == runID && $0.seq != nil }?.seq : nil
        }
        try waitFor(
            "the new watchdog to apply seq \(seqAfterLimit)", seen: { "\(home.quickStatus()?.markets["ES"]?.applied(runID) ?? -1)" }
        ) {
            (home.quickStatus()?.markets["ES"]?.applied(runID) ?? 0) >= seqAfterLimit ? true : nil
        }
        #expect(modeChanges(home).count == before, "mode changes: \(modes(home))")
        #expect(modeChanges(home).last?.data["to"]?.stringValue == "AGGRESSIVE")
        #expect(home.quickStatus()?.markets["ES"]?.mode == "AGGRESSIVE")
        supervisor.signal(SIGTERM)
        _ = try supervisor.waitForExit(timeout: 15)
    }

    @Test func tradeWithoutWatchdogTurnsItOffWithAWarningAtEveryStart() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var c = config()
        c.extraSections["safety"] =
            "{\"health_interval_seconds\": 0.2, \"unobserved_seconds\": \(Self.limit), \"trade_without_watchdog\": true}"
        try home.writeConfig(c)
        for run in 1...2 {
            let worker = try home.start("robot-worker", ["--market", "ES"], name: "worker-\(run)")
            try waitFor("the warning", seen: { worker.stderr }) {
                worker.stderr.contains("TRADING_WITHOUT_WATCHDOG") || worker.stderr.contains("trade_without_watchdog is true") ? true : nil
            }
            // Past the limit with no watchdog: still AGGRESSIVE.
            let started = seconds()
            try waitFor("a HEALTH_STATUS \(Self.limit + 1) s into run \(run)", timeout: 15) {
                seconds() - started > Self.limit + 1 ? home.events("ES", type: .healthStatus).last : nil
            }
            #expect(modeChanges(home).allSatisfy { $0.data["to"]?.stringValue == "AGGRESSIVE" }, "\(modes(home))")
            worker.signal(SIGTERM)
            #expect(try worker.waitForExit() == 0)
        }
    }
}
