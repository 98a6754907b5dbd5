import Foundation
import Platform
import Testing
import Wire

/// The paper venue as the supervisor's child (issue 16: "it runs under the supervisor"): started
/// before the workers, restarted like them, stopped after the last one, left alone when opted out.
@Suite(.serialized) struct SupervisedVenueTests {
    func accepted(_ home: TestHome) -> [String] {
        home.events("ES", type: .orderAccepted).compactMap { $0.data["client_order_id"]?.stringValue }
    }

    /// The `venue` row of a status answer.
    func venueRow(_ status: JSONObject) -> JSONObject? { status["venue"]?.objectValue }

    /// Waits for the venue's row to be RUNNING (with a pid other than `other`); returns its pid.
    @discardableResult
    func waitForVenue(_ home: TestHome, pidOtherThan other: Int32? = nil, timeout: Double = 15) throws -> (pid: Int32, row: JSONObject) {
        var last = "no answer"
        return try waitFor("the supervised venue RUNNING", timeout: timeout, seen: { last }) { () -> (Int32, JSONObject)? in
            guard let s = try home.supervisorStatus(), let row = venueRow(s) else { return nil }
            last = "\(row)"
            guard row["state"]?.stringValue == "RUNNING", let pid = row["pid"]?.intValue.map({ Int32($0) }), pid != other else {
                return nil
            }
            return (pid, row)
        }
    }

    /// `robot-worker order` for ES: true when it exited 0 (else the test records what it printed).
    func order(_ home: TestHome, _ extra: [String] = []) throws -> Bool {
        let p = try home.start("robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1"] + extra, name: "order")
        let status = try p.waitForExit()
        if status != 0 { Issue.record("robot-worker order \(extra) exited \(status): \(p.stdout)\(p.stderr)") }
        return status == 0
    }

    func aggressive(_ home: TestHome, after seq: Int64 = 0, _ what: String) throws {
        try waitFor(what, timeout: 15, seen: { "\(home.events("ES", type: .systemModeChange).map(\.data))" }) {
            home.events("ES", type: .systemModeChange).last.flatMap {
                ($0.seq ?? 0) > seq && $0.data["to"]?.stringValue == "AGGRESSIVE" ? true : nil
            }
        }
    }

    @Test func theSupervisorRunsTheVenueBeforeTheWorkersAndAWorkersOrderIsAcceptedThroughIt() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig().supervised())
        let supervisor = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING"])
        let (venuePid, row) = try waitForVenue(home)
        #expect(row["restarts"]?.intValue == 0)
        #expect(isAlive(venuePid) && UnixSocket.isServing(home.venueSocket))
        let status = try #require(try home.supervisorStatus())
        #expect(status.market("paper-venue") == nil, "the venue is not a market: \(status)")
        // Started first: its spawn line comes before the worker's.
        let log = supervisor.stderr
        let venueLine = try #require(log.range(of: "paper-venue pid \(venuePid) started"), "\(log)")
        let workerPid = try #require(status.pid("ES"))
        let workerLine = try #require(log.range(of: "ES pid \(workerPid) started"), "\(log)")
        #expect(venueLine.lowerBound < workerLine.lowerBound, "\(log)")
        try aggressive(home, "ES AGGRESSIVE after its first reconciliation with the supervised venue")
        #expect(home.events("ES", type: .reconciliation).first?.data["venue"]?.stringValue == "paper")

        #expect(try order(home, ["--limit", "1"]))
        let ids = try waitFor("ORDER_ACCEPTED", seen: { "\(accepted(home))" }) { accepted(home).count == 1 ? accepted(home) : nil }
        let probe = try VenueProbe(path: home.venueSocket, fence: 1)
        #expect(try probe.state(ids: ids).orders.map(\.clientOrderID) == ids, "the venue holds the order")

        let table = try home.supervisor(["status"])
        #expect(table.status == 0, "\(table.stdout)\(table.stderr)")
        let venueRowLine = table.stdout.split(separator: "\n").first { $0.hasPrefix("paper-venue (venue)") }
        #expect(venueRowLine?.contains("RUNNING") == true && venueRowLine?.contains(String(venuePid)) == true, "\(table.stdout)")
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit(timeout: 10) == 0, "\(supervisor.stderr)")
    }

    @Test func aKilledVenueIsRestartedAndTheWorkerReconnectsWithNoOrderLostOrDoubled() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig().supervised())
        let supervisor = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING"])
        let (first, _) = try waitForVenue(home)
        try aggressive(home, "ES AGGRESSIVE")
        #expect(try order(home, ["--stream", "ES2", "--limit", "1"])) // stays open at the venue
        #expect(try order(home)) // ES1: fills
        let before = try waitFor("two ORDER_ACCEPTED", seen: { "\(accepted(home))" }) { accepted(home).count == 2 ? accepted(home) : nil }
        let lastMode = home.events("ES", type: .systemModeChange).last?.seq ?? 0

        #expect(kill(first, SIGKILL) == 0)
        let (second, row) = try waitForVenue(home, pidOtherThan: first)
        #expect(row["restarts"]?.intValue == 1, "\(row)")
        #expect(row["last_exit"]?.objectValue?["signal"]?.intValue == Int64(SIGKILL), "\(row)")
        #expect(!isAlive(first))
        // The worker held OBSERVE_ONLY while the venue was down, then came back after reconciling.
        try aggressive(home, after: lastMode, "ES AGGRESSIVE again after the venue's restart")
        let modes = home.events("ES", type: .systemModeChange).filter { ($0.seq ?? 0) > lastMode }.compactMap { $0.data["to"]?.stringValue }
        #expect(modes.first == "OBSERVE_ONLY", "\(modes)")
        let again = try #require(home.events("ES", type: .reconciliation).last)
        #expect(again.data["reason"]?.stringValue == "reconnected", "\(again.data)")
        #expect(again.data["clean"]?.boolValue == true, "\(again.data)")

        #expect(try order(home)) // ES1 again, once its first order filled
        let all = try waitFor("three ORDER_ACCEPTED", seen: { "\(accepted(home))" }) { accepted(home).count == 3 ? accepted(home) : nil }
        #expect(Set(all).count == 3 && Set(before).isSubset(of: Set(all)), "each order journaled once: \(all)")
        let probe = try VenueProbe(path: home.venueSocket, fence: 1)
        let held = try probe.state(ids: all).orders.map(\.clientOrderID)
        #expect(held.sorted() == all.sorted(), "each order once at the venue, none lost: \(held)")
        #expect(supervisor.stderr.contains("paper-venue pid \(second) started (restart 1)"), "\(supervisor.stderr)")
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit(timeout: 10) == 0, "\(supervisor.stderr)")
    }

    @Test func aStopEndsTheWorkersFirstAndTheVenueLastAndLeavesNothingRunning() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestHome.venueConfig()
        config.markets["NQ"] = ("MNQ", [("NQ1", "NQ")])
        config.feeds["NQ"] = "{\"kind\": \"synthetic\", \"rate_per_second\": 50}"
        try home.writeConfig(config.supervised())
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING"])
        let (venuePid, _) = try waitForVenue(home)
        let workers = try ["ES", "NQ"].map { try #require(status.pid($0)) }
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit(timeout: 10) == 0, "\(supervisor.stderr)")
        let log = supervisor.stderr
        let venueEnd = try #require(log.range(of: "paper-venue pid \(venuePid) exited with status 0"), "\(log)")
        for (market, pid) in zip(["ES", "NQ"], workers) {
            let end = try #require(log.range(of: "\(market) pid \(pid) exited with status 0"), "\(log)")
            #expect(end.lowerBound < venueEnd.lowerBound, "\(market)'s worker ended before the venue: \(log)")
            #expect(!isAlive(pid), "\(market) worker \(pid) left behind")
            #expect(home.events(market, type: .lockReleased).last?.pid == pid)
        }
        #expect(!isAlive(venuePid), "the venue \(venuePid) left behind")
        #expect(!FileManager.default.fileExists(atPath: home.venueSocket), "the venue removed its socket")
        #expect(log.contains("every worker has ended; stopping the paper venue"), "\(log)")
    }

    @Test func theVenueEndsWithAKilledSupervisor() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig().supervised())
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "RUNNING"])
        let (venuePid, _) = try waitForVenue(home)
        let worker = try #require(status.pid("ES"))
        supervisor.signal(SIGKILL)
        try waitFor("the venue and the worker to end", timeout: 5, seen: { "venue \(isAlive(venuePid)), worker \(isAlive(worker))" }) {
            !isAlive(venuePid) && !isAlive(worker) ? true : nil
        }
    }

    @Test func optedOutTheSupervisorLeavesTheVenueToTheOperator() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig(venue: #"{"kind": "paper", "supervised": false}"#).supervised())
        let supervisor = try home.startSupervisor()
        let status = try home.waitForStates(["ES": "RUNNING"])
        #expect(venueRow(status) == nil, "no venue row: \(status)")
        #expect(!UnixSocket.isServing(home.venueSocket), "the supervisor started no venue")
        #expect(supervisor.stderr.contains("venue.supervised is false"), "\(supervisor.stderr)")
        #expect(home.events("ES", type: .systemModeChange).last?.data["to"]?.stringValue == "OBSERVE_ONLY")
        // The operator's own venue: the worker reaches it.
        let venue = try home.startVenue()
        try aggressive(home, "ES AGGRESSIVE once the operator's venue answers")
        supervisor.signal(SIGTERM)
        #expect(try supervisor.waitForExit(timeout: 10) == 0, "\(supervisor.stderr)")
        #expect(isAlive(venue.pid), "the supervisor leaves a venue it did not start alone")
        venue.signal(SIGTERM)
        #expect(try venue.waitForExit() == 0)
    }

    @Test func aBadSupervisedValueIsRefusedNamingTheFileKeyAndValue() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig(venue: #"{"kind": "paper", "supervised": "no"}"#).supervised())
        let supervisor = try home.startSupervisor()
        #expect(try supervisor.waitForExit() == 78, "\(supervisor.stderr)")
        let error = supervisor.stderr
        #expect(error.contains("venue.supervised") && error.contains("\"no\"") && error.contains(home.configPath), "\(error)")
        #expect(!UnixSocket.isServing(home.venueSocket))
    }
}
