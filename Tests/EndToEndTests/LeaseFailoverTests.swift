import Foundation
import Platform
import TestSupport
import Testing
import Wire

/// The lease across hosts with real workers and a real PostgreSQL (issue 15; docs/MULTIHOST.md):
/// stacks with their own host identity, home and guard folders, one account, one database.
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"), .serialized)
struct LeaseFailoverTests {
    /// Waits until exactly one of `workers` (host index, process) is AGGRESSIVE and every other
    /// one says STANDBY; returns the holder's index in `workers`.
    func oneHolder(_ hosts: LeaseHosts, _ workers: [(Int, RunningProcess)], market: String = "ES", timeout: Double = 15) throws -> Int {
        try waitFor("one AGGRESSIVE holder of \(market), the others STANDBY", timeout: timeout, seen: { hosts.describe(market) }) {
            () -> Int? in
            let modes = workers.map { hosts.mode($0.0, market, pid: $0.1.pid) }
            let states = workers.map { hosts.leaseState($0.0, market, pid: $0.1.pid) }
            let holders = modes.indices.filter { modes[$0] == "AGGRESSIVE" && states[$0] == "HOLDER" }
            let standbys = states.indices.filter { states[$0] == "STANDBY" && modes[$0] == "OBSERVE_ONLY" }
            return holders.count == 1 && standbys.count == workers.count - 1 ? holders[0] : nil
        }
    }

    @Test(arguments: [2, 3])
    func exactlyOneHostTradesEachMarketAndTheOthersAreStandbys(_ count: Int) throws {
        let hosts = try LeaseHosts(count: count, markets: ["ES", "NQ"])
        defer { hosts.cleanup() }
        var es: [(Int, RunningProcess)] = []
        var nq: [(Int, RunningProcess)] = []
        for i in 0..<count {
            es.append((i, try hosts.startWorker(i, "ES")))
            nq.append((i, try hosts.startWorker(i, "NQ")))
        }
        let esHolder = try oneHolder(hosts, es, market: "ES")
        _ = try oneHolder(hosts, nq, market: "NQ")
        // The standby names the holder; the fences of the holder come from the lease.
        let holderHost = hosts.names[es[esHolder].0]
        for (i, w) in es where i != es[esHolder].0 {
            let standby = try #require(hosts.homes[i].events("ES", type: .leaseStatus).last { $0.pid == w.pid })
            #expect(standby.data["holder_host"]?.stringValue == holderHost, "\(standby.data.jsonTextForTest)")
            #expect(w.isRunning)
        }
        let rows = try hosts.pg.psql("SELECT market || ' ' || holder_host || ' ' || fence FROM robot_lease ORDER BY market")
        #expect(rows.contains("ES \(holderHost)"), "\(rows)")
        // An order on the standby is blocked; on the holder it is placed with the lease's fence.
        let standbyIndex = es.first { $0.0 != es[esHolder].0 }!.0
        let blocked = try hosts.order(standbyIndex)
        #expect(try blocked.waitForExit() != 0, "\(blocked.stdout)")
        let placed = try hosts.order(es[esHolder].0)
        #expect(try placed.waitForExit() == 0, "\(placed.stdout) \(placed.stderr)")
        let fence = try hosts.pg.psql("SELECT fence FROM robot_lease WHERE market = 'ES'")
        #expect(placed.stdout.contains("SIM-ES-F\(fence)-"), "fence \(fence): \(placed.stdout)")
    }

    @Test func aStandbyTradesWithinTheLeasePlusOneSecondAfterTheHolderIsKilled() throws {
        let hosts = try LeaseHosts(count: 2, metrics: true)
        defer { hosts.cleanup() }
        let workers = [(0, try hosts.startWorker(0)), (1, try hosts.startWorker(1))]
        let h = try oneHolder(hosts, workers)
        let (holder, standby) = (workers[h], workers[1 - h])
        let m = ["market": "ES"]
        // The holder renews (latency histogram); the standby counts its time as one.
        try MetricsProbe.waitForScrape(port: hosts.metricsPorts[holder.0], "the holder's renewals and role") { e in
            (e.value("robot_worker_lease_renew_seconds_count", m) ?? 0) >= 1
                && e.value("robot_worker_lease_role", ["market": "ES", "role": "HOLDER"]) == 1
                && e.value("robot_worker_lease_database_up", m) == 1 && e.value("robot_worker_lease_standbys", m) == 1 ? true : nil
        }
        try MetricsProbe.waitForScrape(port: hosts.metricsPorts[standby.0], "the standby's role and time") { e in
            e.value("robot_worker_lease_role", ["market": "ES", "role": "STANDBY"]) == 1
                && (e.value("robot_worker_lease_standby_seconds_total", m) ?? 0) > 0
                && e.value("robot_worker_lease_acquisitions_total", m) == 0
                ? true : nil
        }
        let fenceBefore = Int64(try hosts.pg.psql("SELECT fence FROM robot_lease WHERE market = 'ES'")) ?? 0
        let killedAt = MonotonicClock.nowNanos()
        holder.1.signal(SIGKILL)
        let took = try waitFor("the standby to trade", timeout: hosts.leaseSeconds + 5, seen: { hosts.describe() }) {
            hosts.aggressiveSince(standby.0, pid: standby.1.pid, since: killedAt)
        }
        let seconds = Double((took.data["monotonic_ns"]?.intValue ?? 0) - killedAt) / 1e9
        print("\(#function): SIGKILL -> standby AGGRESSIVE in \(Int(seconds * 1000)) ms (lease \(hosts.leaseSeconds) s)")
        #expect(seconds <= hosts.leaseSeconds + 1, "\(seconds) s")
        #expect(took.fence > fenceBefore, "fence \(took.fence) after \(fenceBefore)")
        try MetricsProbe.waitForScrape(port: hosts.metricsPorts[standby.0], "the takeover counted") { e in
            e.value("robot_worker_lease_acquisitions_total", m) == 1
                && e.value("robot_worker_lease_role", ["market": "ES", "role": "HOLDER"]) == 1
                ? true : nil
        }
    }

    @Test func aStandbyTradesWithin100msOfTheHoldersSigterm() throws {
        let hosts = try LeaseHosts(count: 2)
        defer { hosts.cleanup() }
        let workers = [(0, try hosts.startWorker(0)), (1, try hosts.startWorker(1))]
        let h = try oneHolder(hosts, workers)
        let (holder, standby) = (workers[h], workers[1 - h])
        let sentAt = MonotonicClock.nowNanos()
        holder.1.signal(SIGTERM)
        let took = try waitFor("the standby to trade", timeout: hosts.leaseSeconds + 5, seen: { hosts.describe() }) {
            hosts.aggressiveSince(standby.0, pid: standby.1.pid, since: sentAt)
        }
        #expect(try holder.1.waitForExit() == 0, "\(holder.1.stderr)")
        let ms = Double((took.data["monotonic_ns"]?.intValue ?? 0) - sentAt) / 1e6
        print("\(#function): SIGTERM -> standby AGGRESSIVE in \(Int(ms)) ms")

        #expect(ms <= 100, "\(ms) ms")
    }
}

extension LeaseFailoverTests {
    @Test func statusShowsTheLeaseHolderAndStandbyOnEachHostUnderSupervisorsAndWatchdogs() throws {
        let hosts = try LeaseHosts(count: 2, supervised: true)
        defer { hosts.cleanup() }
        for home in hosts.homes {
            try home.startWatchdog()
            _ = try home.startSupervisor()
        }
        // Both supervisors see their worker RUNNING (ready); one host holds the lease.
        for home in hosts.homes { try home.waitForStates(["ES": "RUNNING"], timeout: 20) }
        let (holder, standby) = try waitFor("one host to hold ES", timeout: 15, seen: { hosts.describe() }) { () -> (Int, Int)? in
            let states = hosts.homes.indices.map { i in hosts.homes[i].events("ES", type: .leaseStatus).last?.data["state"]?.stringValue }
            if states == ["HOLDER", "STANDBY"] { return (0, 1) }
            if states == ["STANDBY", "HOLDER"] { return (1, 0) }
            return nil
        }
        let supervisorStatus = try waitFor("supervisor status to say STANDBY and who holds ES", seen: { hosts.describe() }) {
            () -> String? in
            let r = try hosts.homes[standby].supervisor(["status"])
            return r.stdout.contains("STANDBY: ES:") && r.stdout.contains("lease held by \(hosts.names[holder])") ? r.stdout : nil
        }
        #expect(supervisorStatus.contains("RUNNING"), "\(supervisorStatus)")
        let holderStatus = try hosts.homes[holder].supervisor(["status"])
        #expect(!holderStatus.stdout.contains("STANDBY:"), "\(holderStatus.stdout)")
        // watchdog status on each host: the backend, the holder, the expiry and the standbys.
        let watched = try waitFor(
            "watchdog status to show the lease on both hosts",
            seen: { hosts.homes.map { (try? $0.watchdogCommand(["status"]).stdout) ?? "" }.joined(separator: "\n") }
        ) { () -> [String]? in
            let texts = try hosts.homes.map { try $0.watchdogCommand(["status"]).stdout }
            let ok =
                texts[holder].contains("lease (postgresql): HOLDER, held by \(hosts.names[holder])")
                && texts[standby].contains("lease (postgresql): STANDBY, held by \(hosts.names[holder])")
                && texts.allSatisfy { $0.contains("expires 20") && $0.contains("1 standby") }
            return ok ? texts : nil
        }
        #expect(watched.count == 2)
    }
}
