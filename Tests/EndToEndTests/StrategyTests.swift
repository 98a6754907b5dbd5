import Foundation
import Testing
import Wire

/// The strategy process (issue 17, docs/STRATEGY.md) with the real worker: the SDK's example
/// trades, every risk limit at and past its boundary, and strategies that crash, hang, flood, send
/// garbage, order while OBSERVE_ONLY, or exit at once; the strategy dies with its worker.
/// Strategies other than the SDK example are `scenarios/strategy/scripted.py` (the raw protocol).
@Suite(.serialized) struct StrategyTests {
    static let scripted = MetricsProbe.packageRoot + "/scenarios/strategy/scripted.py"
    static let sdk = MetricsProbe.packageRoot + "/sdk/python"

    /// A home whose ES market (streams ES1, ES2, synthetic feed at `rate` ticks/s) runs `strategy`.
    func home(strategy: String, rate: Double = 20, safety: String? = nil) throws -> TestHome {
        let home = try TestHome()
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES"), ("ES2", "ES")])]
        c.feeds = ["ES": "{\"kind\": \"synthetic\", \"rate_per_second\": \(rate)}"]
        c.strategies = ["ES": strategy]
        if let safety { c.extraSections["safety"] = safety }
        try home.writeConfig(c)
        return home
    }

    /// The `strategy` object running scripted.py with `arguments`.
    func scripted(_ arguments: [String], heartbeat: Double = 2, restart: String = "{}", limits: String = "{}") -> String {
        let command = (["python3", Self.scripted] + arguments).map { "\"\($0)\"" }.joined(separator: ", ")
        return "{\"command\": [\(command)], \"heartbeat_seconds\": \(heartbeat), \"restart\": \(restart), \"limits\": \(limits)}"
    }

    func data(_ e: Event, _ key: String) -> String? { e.data[key]?.stringValue }

    /// Each line of a scripted strategy's OUT file.
    func lines(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Whether `pid` runs (a zombie waiting for its reaper does not).
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    func types(_ home: TestHome) -> String {
        home.events("ES").suffix(12).map { $0.type + ($0.type.hasPrefix("STRATEGY") ? " " + "\($0.data)" : "") }.joined(separator: "\n")
    }

    @Test func theExampleStrategyPlacesGetsFilledAndHoldsAPosition() throws {
        let strategy = """
            {"command": ["python3", "-m", "robot_strategy.examples.ma_crossover"], "environment": {"PYTHONPATH": "\(Self.sdk)"},
             "limits": {"max_order_quantity": 2, "max_position": 2}}
            """
        let home = try home(strategy: strategy, rate: 40)
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let accepted = try waitFor("an accepted order of the example strategy", timeout: 20, seen: { types(home) }) {
            home.events("ES", type: .strategyOrder).first { data($0, "outcome") == "accepted" }
        }
        let id = try #require(data(accepted, "client_order_id"))
        #expect(id.hasPrefix("SIM-ES-F"))
        #expect(data(accepted, "tag")?.hasPrefix("ma-") == true)
        let placed = try #require(home.events("ES", type: .orderPlaced).first { data($0, "client_order_id") == id })
        #expect(placed.seq! < accepted.seq!, "ORDER_PLACED is journaled before the answer")
        let fill = try waitFor("\(id) filled", seen: { types(home) }) {
            home.events("ES", type: .orderFilled).first { data($0, "client_order_id") == id }
        }
        let side = try #require(data(fill, "side"))
        let quantity = try #require(fill.data["quantity"]?.intValue)
        // The position shows in `robot-worker positions` (the worker's venue) once filled.
        var seen = ""
        try waitFor("a position in robot-worker positions", seen: { seen }) { () -> Bool? in
            let p = try home.start("robot-worker", ["positions", "--market", "ES", "--json"], name: "positions")
            _ = try p.waitForExit()
            seen = p.stdout
            guard let o = try? JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any],
                let positions = o["positions"] as? [[String: Any]],
                positions.contains(where: { $0["symbol"] as? String == "MES" && ($0["quantity"] as? Int ?? 0) != 0 })
            else { return nil }
            return true
        }
        try waitFor("the SDK's log line of the fill", seen: { types(home) }) {
            home.events("ES", type: .strategyLog).first { data($0, "message")?.hasPrefix("filled \(side) \(quantity) at") == true }
        }
        #expect(home.events("ES", type: .strategyReady).count == 1)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    /// The twenty-line shell strategy of docs/STRATEGY.md, as printed there: another language needs only the document.
    @Test func theShellStrategyOfTheDocumentTrades() throws {
        let doc = try String(contentsOfFile: MetricsProbe.packageRoot + "/docs/STRATEGY.md", encoding: .utf8)
        let start = try #require(doc.range(of: "```bash\n"))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let script = String(doc[start.upperBound..<end.lowerBound])
        #expect(script.split(separator: "\n").count <= 20)
        let folder = try TestHome()
        defer { folder.cleanup() }
        let path = folder.path + "/buy-once.sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, 0o755) == 0)
        let home = try home(strategy: "{\"command\": [\"\(path)\"]}")
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let order = try waitFor("the shell strategy's order", timeout: 15, seen: { types(home) }) {
            home.events("ES", type: .strategyOrder).first { data($0, "tag") == "sh-1" }
        }
        #expect(data(order, "outcome") == "accepted")
        let id = try #require(data(order, "client_order_id"))
        try waitFor("its fill and the strategy's log of it", seen: { types(home) }) {
            home.events("ES", type: .orderFilled).contains { data($0, "client_order_id") == id }
                && home.events("ES", type: .strategyLog).contains { data($0, "message") == "sh-1 filled" } ? true : nil
        }
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func everyRiskLimitAtAndPastItsBoundaryAndTheRejectionLimit() throws {
        let folder = try TestHome()
        defer { folder.cleanup() }
        let out = folder.path + "/answers.ndjson"
        let stepsPath = folder.path + "/steps.json"
        func order(_ side: String, _ q: Int, _ price: Double, _ stream: String) -> String {
            "{\"send\": {\"type\": \"order\", \"side\": \"\(side)\", \"quantity\": \(q), \"order_type\": \"limit\", \"limit_price\": \(price), \"stream\": \"\(stream)\"}}"
        }
        func cancel(_ step: Int) -> String { "{\"send\": {\"type\": \"cancel\", \"client_order_id\": \"$\(step)\"}}" }
        // Buys at 100 and sells at 9000 never fill (the feed walks around 5000): they stay open.
        let steps = [
            order("buy", 3, 100, "ES1"), // 1 accepted: quantity 3 at max_order_quantity 3
            order("buy", 4, 100, "ES2"), // 2 rejected: max_order_quantity
            order("buy", 1, 100, "ES2"), // 3 accepted: 2 open at max_open_orders 2; position 3+1 at max_position 4
            order("sell", 1, 9000, "ES1"), // 4 rejected: max_open_orders
            cancel(3), // 5
            order("buy", 2, 100, "ES2"), // 6 rejected: max_position (3 open + 2 = 5)
            order("sell", 3, 9000, "ES2"), // 7 accepted: 3 x 9000 = 27000 at max_notional
            cancel(7), // 8
            order("sell", 3, 9000.25, "ES2"), // 9 rejected: max_notional 27000.75
            order("sell", 1, 9000, "ES2"), // 10 accepted: the 4th order in a minute, at max_orders_per_minute 4
            cancel(10), // 11
            order("sell", 1, 9000, "ES2"), // 12 rejected: max_orders_per_minute; the 5th rejection, at the limit 5
            order("buy", 9, 100, "ES2"), // 13 rejected: the 6th rejection latches STRATEGY_MISBEHAVING
            order("buy", 1, 100, "ES2"), // 14 rejected: MODE (SHUTDOWN)
        ]
        try ("[" + steps.joined(separator: ",\n") + "]").write(toFile: stepsPath, atomically: true, encoding: .utf8)
        let limits = """
            {"max_order_quantity": 3, "max_open_orders": 2, "max_position": 4, "max_notional": 27000, "max_orders_per_minute": 4,
             "max_rejections_per_minute": 5}
            """
        let home = try home(strategy: scripted(["steps", stepsPath, out], limits: limits))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("the steps done", timeout: 20, seen: { "\(lines(out).suffix(3))\n" + types(home) }) {
            lines(out).contains { $0["type"] as? String == "steps_done" } ? true : nil
        }
        let answers = lines(out).filter {
            ["order_accepted", "order_rejected", "cancel_accepted", "cancel_rejected"].contains($0["type"] as? String ?? "")
        }
        let byTag = Dictionary(answers.map { ($0["tag"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(answers.count == steps.count, "one answer per order and cancel: \(answers)")
        func expect(_ step: Int, _ type: String, limit: String? = nil, reason: String? = nil, detail: String? = nil) {
            let a = byTag["s\(step)"]
            #expect(a?["type"] as? String == type, "step \(step): \(String(describing: a))")
            if let limit { #expect(a?["limit"] as? String == limit, "step \(step): \(String(describing: a))") }
            if let reason { #expect(a?["reason"] as? String == reason, "step \(step): \(String(describing: a))") }
            if let detail { #expect((a?["detail"] as? String)?.contains(detail) == true, "step \(step): \(String(describing: a))") }
        }
        expect(1, "order_accepted")
        expect(2, "order_rejected", limit: "max_order_quantity", reason: "RISK_LIMIT", detail: "quantity 4 is over the limit 3")
        expect(3, "order_accepted")
        expect(4, "order_rejected", limit: "max_open_orders", detail: "2 open orders, limit 2")
        expect(5, "cancel_accepted")
        expect(6, "order_rejected", limit: "max_position", detail: "5 would be over the limit 4")
        expect(7, "order_accepted")
        expect(8, "cancel_accepted")
        expect(9, "order_rejected", limit: "max_notional", detail: "3 x 9000.25 = 27000.75 is over the limit 27000")
        expect(10, "order_accepted")
        expect(11, "cancel_accepted")
        expect(12, "order_rejected", limit: "max_orders_per_minute", detail: "4 orders accepted in the last 60 s, limit 4")
        expect(13, "order_rejected", limit: "max_order_quantity")
        expect(14, "order_rejected", reason: "MODE", detail: "SHUTDOWN")
        let accepted = answers.filter { $0["type"] as? String == "order_accepted" }
        #expect(accepted.allSatisfy { ($0["client_order_id"] as? String)?.hasPrefix("SIM-ES-F") == true })
        // Journaled: every order with its answer; the fail-safe once, after the 6th rejection.
        let journaled = home.events("ES", type: .strategyOrder)
        #expect(journaled.count == 11, "\(journaled.map(\.data))")
        #expect(journaled.filter { data($0, "outcome") == "rejected" }.count == 7)
        let trips = home.events("ES", type: .failsafeTriggered)
        #expect(trips.count == 1)
        #expect(trips.first.flatMap { data($0, "trigger") } == "STRATEGY_MISBEHAVING")
        #expect(trips.first.flatMap { data($0, "reason") }?.contains("6 rejected orders or malformed lines within 60 s") == true)
        let trip = try #require(trips.first)
        let thirteenth = try #require(journaled.first { data($0, "tag") == "s13" })
        #expect(thirteenth.seq! < trip.seq!)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func anOrderWhileObserveOnlyIsRejectedWithTheMode() throws {
        let folder = try TestHome()
        defer { folder.cleanup() }
        let out = folder.path + "/answers.ndjson"
        let stepsPath = folder.path + "/steps.json"
        try """
        [{"wait_mode": "OBSERVE_ONLY"}, {"send": {"type": "order", "side": "buy", "quantity": 1, "tag": "late"}}]
        """.write(toFile: stepsPath, atomically: true, encoding: .utf8)
        // No watchdog: OBSERVE_ONLY (WATCHDOG_UNREACHABLE) after half a second.
        let home = try home(
            strategy: scripted(["steps", stepsPath, out]), safety: "{\"unobserved_seconds\": 0.5, \"health_interval_seconds\": 0.2}")
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let answer = try waitFor("the answer", timeout: 15, seen: { "\(lines(out))" }) {
            lines(out).first { $0["tag"] as? String == "late" }
        }
        #expect(answer["type"] as? String == "order_rejected")
        #expect(answer["reason"] as? String == "MODE")
        #expect((answer["detail"] as? String)?.contains("OBSERVE_ONLY") == true)
        #expect((answer["detail"] as? String)?.contains("WATCHDOG_UNREACHABLE") == true)
        #expect(home.events("ES", type: .orderPlaced).isEmpty)
        #expect(home.events("ES", type: .failsafeTriggered).isEmpty)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func aCrashHoldsObserveOnlyUntilTheRestartedStrategyIsReady() throws {
        let home = try home(
            strategy: scripted(
                ["crash", "0.5"], restart: "{\"backoff_initial_seconds\": 0.2, \"max_crashes\": 5, \"crash_window_seconds\": 60}"))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("a second ready after a crash, and AGGRESSIVE again", timeout: 15, seen: { types(home) }) {
            home.events("ES", type: .strategyReady).count >= 2 && home.events("ES", type: .systemModeChange).count >= 3 ? true : nil
        }
        let exited = try #require(home.events("ES", type: .strategyExited).first)
        #expect(data(exited, "why") == "exited with status 3")
        let modes = home.events("ES", type: .systemModeChange).map { (data($0, "to") ?? "", data($0, "reason") ?? "") }
        #expect(modes.map(\.0).prefix(3) == ["AGGRESSIVE", "OBSERVE_ONLY", "AGGRESSIVE"], "\(modes)")
        #expect(modes.count > 1 && modes[1].1.contains("STRATEGY_MISBEHAVING: the strategy exited with status 3"), "\(modes)")
        #expect(home.events("ES", type: .failsafeTriggered).isEmpty)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func aStrategyThatExitsAtEveryStartLatchesTheFailSafeOnce() throws {
        let home = try home(
            strategy: scripted(
                ["exit"],
                restart:
                    "{\"backoff_initial_seconds\": 0.05, \"backoff_max_seconds\": 0.2, \"max_crashes\": 3, \"crash_window_seconds\": 60}"))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let trip = try waitFor("the fail-safe", timeout: 15, seen: { types(home) }) { home.events("ES", type: .failsafeTriggered).first }
        #expect(data(trip, "trigger") == "STRATEGY_MISBEHAVING")
        #expect(data(trip, "reason")?.contains("crashed 4 times within 60 s (limit strategy.restart.max_crashes 3)") == true)
        // No start after the latch: wait for later heartbeats, then count.
        let after = home.events("ES").last!.seq ?? 0
        try waitFor("three more events after the trip", seen: { types(home) }) {
            (home.events("ES").last?.seq ?? 0) >= after + 3 || home.events("ES", type: .heartbeat).filter { $0.ts > trip.ts }.count >= 3
                ? true : nil
        }
        #expect(home.events("ES", type: .strategyStarted).count == 4)
        #expect(home.events("ES", type: .strategyReady).isEmpty)
        #expect(home.events("ES", type: .failsafeTriggered).count == 1)
        #expect(home.events("ES", type: .systemModeChange).last.flatMap { data($0, "to") } == "SHUTDOWN")
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func aHungStrategyIsKilledItsOrdersCancelledAndItsRestartReleasesTheHold() throws {
        let folder = try TestHome()
        defer { folder.cleanup() }
        let home = try home(
            strategy: scripted(["hang-once", folder.path + "/hung"], heartbeat: 0.5, restart: "{\"backoff_initial_seconds\": 0.1}"))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let exited = try waitFor("the hung strategy killed", timeout: 15, seen: { types(home) }) {
            home.events("ES", type: .strategyExited).first
        }
        #expect(data(exited, "why")?.contains("was hung (sent nothing for") == true, "\(exited.data)")
        #expect(data(exited, "why")?.contains("limit strategy.heartbeat_seconds 0.5 s") == true, "\(exited.data)")
        let pid = Int32(try #require(exited.data["pid"]?.intValue))
        #expect(!isRunning(pid))
        let firstOrder = try #require(home.events("ES", type: .strategyOrder).first { data($0, "outcome") == "accepted" })
        let id = try #require(data(firstOrder, "client_order_id"))
        let cancelled = try waitFor("\(id) cancelled", seen: { types(home) }) {
            home.events("ES", type: .orderCancelled).first { data($0, "client_order_id") == id }
        }
        #expect(cancelled.seq! > firstOrder.seq!)
        try waitFor("the restarted strategy ready and AGGRESSIVE again", timeout: 15, seen: { types(home) }) {
            home.events("ES", type: .strategyReady).count >= 2
                && home.events("ES", type: .systemModeChange).last.flatMap { data($0, "to") } == "AGGRESSIVE"
                ? true : nil
        }
        #expect(home.events("ES", type: .systemModeChange).map { data($0, "to") ?? "" }.suffix(2) == ["OBSERVE_ONLY", "AGGRESSIVE"])
        #expect(home.events("ES", type: .failsafeTriggered).isEmpty)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func aFloodNeverStopsTheLoopAndLatchesOnce() throws {
        let home = try home(strategy: scripted(["flood"], restart: "{\"backoff_initial_seconds\": 5}"))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let exited = try waitFor("the flooding strategy killed", timeout: 20, seen: { types(home) }) {
            home.events("ES", type: .strategyExited).first
        }
        #expect(data(exited, "why")?.contains("does not read its socket") == true, "\(exited.data)")
        let trips = home.events("ES", type: .failsafeTriggered)
        #expect(trips.count == 1 && trips.first.flatMap { data($0, "trigger") } == "STRATEGY_MISBEHAVING")
        #expect(home.events("ES", type: .strategyMalformed).count >= 1)
        // The loop went on: heartbeats every 0.2 s, none late by more than a second while it flooded.
        let runID = try #require(home.events("ES").first?.runID)
        try waitFor("two heartbeats after the kill", seen: { types(home) }) {
            home.events("ES", type: .heartbeat).filter { $0.ts > exited.ts }.count >= 2 ? true : nil
        }
        #expect(home.largestHeartbeatGap("ES", runID: runID) < 1.0)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func garbageIsCountedAndAnsweredNeverFatal() throws {
        let folder = try TestHome()
        defer { folder.cleanup() }
        let out = folder.path + "/received.ndjson"
        let home = try home(strategy: scripted(["garbage", "5", out]))
        defer { home.cleanup() }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let errors = try waitFor("five answers", timeout: 15, seen: { "\(lines(out))" }) { () -> [[String: Any]]? in
            let e = lines(out).filter { $0["type"] as? String == "error" }
            return e.count >= 5 ? e : nil
        }
        #expect(errors.map { $0["malformed_total"] as? Int ?? 0 } == [1, 2, 3, 4, 5])
        #expect(errors.allSatisfy { $0["reason"] as? String == "MALFORMED" && ($0["detail"] as? String)?.hasPrefix("not JSON") == true })
        let journaled = try #require(home.events("ES", type: .strategyMalformed).first)
        #expect(journaled.data["malformed_total"]?.intValue == 1)
        // Still running and ready: nothing exited, nothing latched, and heartbeats keep it alive.
        try waitFor("three more heartbeats", seen: { types(home) }) {
            home.events("ES", type: .heartbeat).filter { $0.ts > journaled.ts }.count >= 3 ? true : nil
        }
        #expect(home.events("ES", type: .strategyExited).isEmpty)
        #expect(home.events("ES", type: .failsafeTriggered).isEmpty)
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    @Test func theStrategyDiesWithItsWorkerAndStopsFirstOnSIGTERM() throws {
        let folder = try TestHome()
        defer { folder.cleanup() }
        let pidFile = folder.path + "/strategy.pid"
        let home = try home(strategy: scripted(["pidfile", pidFile]))
        defer { home.cleanup() }
        func strategyPID() throws -> Int32 {
            try waitFor("the strategy's pid", seen: { types(home) }) {
                (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0) }
            }
        }
        // SIGKILL: the kernel kills the strategy (PR_SET_PDEATHSIG); nothing is left running.
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let first = try strategyPID()
        #expect(getpgid(first) == first, "its own process group")
        #expect(isRunning(first))
        worker.signal(SIGKILL)
        _ = try worker.waitForExit()
        try waitFor("strategy pid \(first) gone after its worker's SIGKILL") { isRunning(first) ? nil : true }
        // SIGTERM: the strategy stops first (STRATEGY_EXITED before the lock's release).
        try FileManager.default.removeItem(atPath: pidFile)
        let second = try home.start("robot-worker", ["--market", "ES"])
        let pid = try strategyPID()
        #expect(pid != first)
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
        #expect(!isRunning(pid))
        let events = home.events("ES").filter { $0.runID == home.events("ES").last?.runID }
        let stopped = try #require(events.firstIndex { $0.type == EventType.strategyExited.rawValue }, "\(types(home))")
        let released = try #require(events.firstIndex { $0.type == EventType.lockReleased.rawValue })
        #expect(stopped < released)
        #expect(data(events[stopped], "why") == "stopped with the worker")
    }
}
