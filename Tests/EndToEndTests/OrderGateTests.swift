import Foundation
import Platform
import Testing
import Wire

/// What the watchdog knows reaches the order gate (issue 21): no order on a fence at or below the
/// market's high-water mark after the lock folder is wiped, with the watchdog up or down at the
/// worker's start, client order IDs that never repeat; identity violations refuse new orders on the
/// violating stream (every stream when the market as a whole is wrong) until a reload fixes them.
@Suite(.serialized) struct OrderGateTests {
    func waitForControl(_ home: TestHome, _ market: String = "ES") throws {
        let path = home.socketDir + "/worker-\(market).sock"
        try waitFor("\(path) to be served") { UnixSocket.isServing(path) ? true : nil }
    }

    /// Runs `robot-worker order ...`; returns the exit status and output.
    func order(_ home: TestHome, stream: String, limit: String? = nil) throws -> (Int32, String) {
        let p = try home.start(
            "robot-worker",
            ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--stream", stream] + (limit.map { ["--limit", $0] } ?? []),
            name: "cli")
        let status = try p.waitForExit()
        return (status, p.stdout + p.stderr)
    }

    /// Starts an ES worker and places one market order on ES1 once the gate lets it; waits for its
    /// fill (so no order stays open into the next run); returns the worker and the placed event.
    func runAndPlace(_ home: TestHome, expectFenceAbove mark: Int64) throws -> (RunningProcess, Event) {
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitForControl(home)
        var last = ""
        let id = try waitFor("an order placed by pid \(worker.pid)", seen: { last }) { () -> String? in
            let (status, out) = try order(home, stream: "ES1")
            last = out
            guard status == 0 else {
                // Only the fence gate may hold the first order back, briefly, until the welcome.
                #expect(out.contains("FENCE_UNCONFIRMED"), "\(out)")
                return nil
            }
            return out.split(separator: " ").first { $0.hasPrefix("SIM-ES-") }.map(String.init)
        }
        let placed = try #require(home.events("ES", type: .orderPlaced).last { $0.data["client_order_id"]?.stringValue == id }, "\(id)")
        try waitFor("\(id) filled") { home.events("ES", type: .orderFilled).first { $0.data["client_order_id"]?.stringValue == id } }
        #expect(placed.pid == worker.pid)
        #expect(placed.fence > mark, "order placed on fence \(placed.fence), high-water mark \(mark)")
        return (worker, placed)
    }

    func stop(_ worker: RunningProcess) throws {
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }

    func wipe(_ dir: String) throws {
        try FileManager.default.removeItem(atPath: dir)
    }

    /// The market's lock folders lost, as after a new disk: the home's lock folder and the
    /// host-wide guard folder (this test's own, `RunningProcess`), which remembers fences too.
    func wipeLockFolders(_ home: TestHome) throws {
        try wipe(home.lockDir)
        try wipe(home.path + "/host-guard")
    }

    @Test func aWipedLockFolderNeverReusesAFenceOrAClientOrderIDWithTheWatchdogUp() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        try home.startWatchdog()
        var ids: [String] = []

        // Run 1: fence 1.
        let (w1, o1) = try runAndPlace(home, expectFenceAbove: 0)
        ids.append(try #require(o1.data["client_order_id"]?.stringValue))
        try stop(w1)
        #expect(o1.fence == 1)

        // Run 2: the lock folder is wiped; the journal remembers fence 1.
        try wipeLockFolders(home)
        let (w2, o2) = try runAndPlace(home, expectFenceAbove: 1)
        ids.append(try #require(o2.data["client_order_id"]?.stringValue))
        let raised = try #require(home.events("ES", type: .fenceRaised).last)
        #expect(raised.data["source"]?.stringValue == "journal")
        #expect(raised.data["reason"]?.stringValue?.contains("lock folder lost its fences") == true)
        try stop(w2)

        // Run 3: the lock folder and the state folder are gone; only the watchdog remembers.
        let journalBefore = home.events("ES")
        try wipeLockFolders(home)
        try wipe(home.stateDir)
        let (w3, o3) = try runAndPlace(home, expectFenceAbove: o2.fence)
        ids.append(try #require(o3.data["client_order_id"]?.stringValue))
        let raisedByWatchdog = try #require(home.events("ES", type: .fenceRaised).last)
        #expect(raisedByWatchdog.data["source"]?.stringValue == "watchdog")
        #expect(raisedByWatchdog.data["high_water"]?.intValue == o2.fence)
        // Nothing was placed on the handed-out fence 1 in this run.
        #expect(home.events("ES", type: .orderPlaced).allSatisfy { $0.fence > o2.fence })
        #expect(Set(ids).count == ids.count, "\(ids)")
        #expect(journalBefore.filter { $0.type == EventType.orderPlaced.rawValue }.count == 2)
        print("\(#function): order IDs across three runs: \(ids)")

        // The watchdog shows why: the fence raise, an alert, and its high-water mark.
        let status = try waitFor("the watchdog to see fence \(o3.fence)") { () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.fenceHighWater == o3.fence else { return nil }
            return m
        }
        #expect(status.alerts.contains { $0.condition == "FENCE_REGRESSION" })
        // The hello on fence 1 was refused with the mark (not welcomed and raised after).
        #expect((home.quickStatus()?.rejected["fence_regression"] ?? 0) >= 1)
        let table = try home.watchdogCommand(["status"])
        #expect(table.stdout.contains("fence raised:"), "\(table.stdout)")
        try stop(w3)
    }

    @Test func withTheWatchdogDownAtStartTheJournalsFencesAreTheMemory() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let watchdog = try home.startWatchdog()
        let (w1, o1) = try runAndPlace(home, expectFenceAbove: 0)
        try stop(w1)
        watchdog.signal(SIGTERM)
        _ = try watchdog.waitForExit()

        try wipeLockFolders(home)
        let (w2, o2) = try runAndPlace(home, expectFenceAbove: o1.fence)
        #expect(o2.data["client_order_id"]?.stringValue != o1.data["client_order_id"]?.stringValue)
        #expect(home.events("ES", type: .fenceRaised).last?.data["source"]?.stringValue == "journal")

        // The watchdog comes back: its mark (fence 1) is below the worker's; it keeps trading.
        try home.startWatchdog()
        try waitFor("the watchdog to see fence \(o2.fence)") { home.quickStatus()?.markets["ES"]?.fenceHighWater == o2.fence ? true : nil }
        let (status, out) = try order(home, stream: "ES2")
        #expect(status == 0, "\(out)")
        let ids = home.events("ES", type: .orderPlaced).compactMap { $0.data["client_order_id"]?.stringValue }
        #expect(Set(ids).count == ids.count && ids.count == 3, "\(ids)")
        try stop(w2)
    }

    @Test func anIdentityViolationByReloadRefusesItsStreamOnlyAMarketWideOneAllAndAFixReopens() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        try home.writeConfig(config)
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitForControl(home)
        try waitFor("the worker's welcome") { home.quickStatus()?.markets["ES"]?.ordersRefused == [] ? true : nil }
        // An order that stays open on ES1 (a buy limit far below the market): its cancel must work.
        let (opened, openOut) = try order(home, stream: "ES1", limit: "1")
        #expect(opened == 0, "\(openOut)")
        let openID = try #require(home.events("ES", type: .orderPlaced).last?.data["client_order_id"]?.stringValue)

        // ES1 is mapped to NQ: ES1 refuses new orders, ES2 keeps trading.
        config.markets["ES"] = ("MES", [("ES1", "NQ"), ("ES2", "ES")])
        try home.writeConfig(config)
        worker.signal(SIGHUP)
        try waitFor("ORDER_GATE_STATUS refusing ES1") {
            home.events("ES", type: .orderGateStatus).last { $0.data["refusing"] == .bool(true) }
        }
        let (refused, refusedOut) = try order(home, stream: "ES1")
        #expect(refused != 0)
        #expect(refusedOut.contains("IDENTITY_VIOLATION") && refusedOut.contains("instrument is NQ"), "\(refusedOut)")
        let rejected = try #require(home.events("ES", type: .orderRejected).last)
        #expect(rejected.data["reason"]?.stringValue == "IDENTITY_VIOLATION")
        #expect(rejected.data["detail"]?.stringValue?.contains("instrument is NQ") == true)
        let cancel = try home.start("robot-worker", ["cancel", "--market", "ES", openID], name: "cli")
        #expect(try cancel.waitForExit() == 0, "\(cancel.stdout)")
        let (es2, es2Out) = try order(home, stream: "ES2")
        #expect(es2 == 0, "\(es2Out)")
        let shown = try waitFor("watchdog status to say why ES1 is refused") { () -> [String]? in
            guard let r = home.quickStatus()?.markets["ES"]?.ordersRefused, !r.isEmpty else { return nil }
            return r
        }
        #expect(shown.count == 1 && shown[0].hasPrefix("ES1: IDENTITY_VIOLATION"), "\(shown)")
        let table = try home.watchdogCommand(["status"])
        #expect(table.stdout.contains("orders refused: ES1: IDENTITY_VIOLATION"), "\(table.stdout)")
        let metrics = try home.watchdogCommand(["status", "--json"])
        #expect(metrics.stdout.contains("\"orders_refused\""))

        // The execution instrument goes missing: the market as a whole is wrong, every stream refuses.
        config.markets["ES"] = ("", [("ES1", "ES"), ("ES2", "ES")])
        try home.writeConfig(config)
        worker.signal(SIGHUP)
        try waitFor("ORDER_GATE_STATUS refusing every stream") {
            home.events("ES", type: .orderGateStatus).last { ($0.data["refusals"]?.stringArrayValue ?? []).first?.hasPrefix("*:") == true }
        }
        for stream in ["ES1", "ES2"] {
            let (status, out) = try order(home, stream: stream)
            #expect(
                status != 0 && out.contains("IDENTITY_VIOLATION") && out.contains("execution instrument is missing"), "\(stream): \(out)")
        }

        // A fixing reload reopens the gate without a restart.
        config.markets["ES"] = ("MES", [("ES1", "ES"), ("ES2", "ES")])
        try home.writeConfig(config)
        worker.signal(SIGHUP)
        try waitFor("ORDER_GATE_STATUS open again") {
            home.events("ES", type: .orderGateStatus).last { $0.data["refusing"] == .bool(false) }
        }
        var last = ""
        try waitFor("an order on ES1 after the fix", seen: { last }) { () -> Bool? in
            let (status, out) = try order(home, stream: "ES1")
            last = out
            return status == 0 ? true : (out.contains("already has open order") ? true : nil)
        }
        #expect(worker.isRunning)
        try waitFor("watchdog status to show no refusal") { home.quickStatus()?.markets["ES"]?.ordersRefused == [] ? true : nil }
    }

    @Test func identityGatesOrdersFalseOnlyObservesAndSaysSoAtStart() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.extraSections["safety"] = #"{"identity_gates_orders": false}"#
        config.markets["ES"] = ("MES", [("ES1", "NQ"), ("ES2", "ES")])
        try home.writeConfig(config)
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitForControl(home)
        let (status, out) = try order(home, stream: "ES1")
        #expect(status == 0, "\(out)")
        #expect(home.events("ES", type: .orderGateStatus).first?.data["identity_gates_orders"] == .bool(false))
        try waitFor("the start-up line about the gate", seen: { worker.stderr }) {
            worker.stderr.contains("identity gates orders: off") ? true : nil
        }
    }
}
