import Foundation
import Platform
import TestSupport
import Testing
import Wire

/// The lease across hosts when something breaks (issue 15; docs/MULTIHOST.md, "Failure model"):
/// a holder stopped past its lease, the database killed and restarted, a newer schema, a wrong
/// password, no database at start.
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"), .serialized)
struct LeaseFaultTests {
    let failover = LeaseFailoverTests()

    @Test func aHolderStoppedLongerThanItsLeasePlacesNoOrderOnItsOldFenceAfterWaking() throws {
        let hosts = try LeaseHosts(count: 2)
        defer { hosts.cleanup() }
        let workers = [(0, try hosts.startWorker(0)), (1, try hosts.startWorker(1))]
        let h = try failover.oneHolder(hosts, workers)
        let (holder, standby) = (workers[h], workers[1 - h])
        let oldFence = try #require(hosts.homes[holder.0].events("ES", type: .leaseStatus).last { $0.pid == holder.1.pid }?.fence)
        // A connection to the holder's control socket, accepted (it answered) before it stops.
        let control = try LineClient(path: hosts.homes[holder.0].socketDir + "/worker-ES.sock")
        try control.send(Array(#"{"v":1,"type":"orders"}"#.utf8) + [10])
        _ = try control.readLine(timeoutSeconds: 5)
        let stoppedAt = MonotonicClock.nowNanos()
        holder.1.signal(SIGSTOP)
        defer { holder.1.signal(SIGCONT) }
        try waitFor("the standby to take over", timeout: hosts.leaseSeconds + 5, seen: { hosts.describe() }) {
            hosts.aggressiveSince(standby.0, pid: standby.1.pid, since: stoppedAt)
        }
        // The order is in the socket when the holder wakes: its loop reads it before any timer
        // runs, so only the deadline check before each order stands between it and the old fence.
        try control.send(Array(#"{"v":1,"type":"order","side":"buy","quantity":1,"limit":1}"#.utf8) + [10])
        holder.1.signal(SIGCONT)
        let answer = String(decoding: try control.readLine(timeoutSeconds: 10), as: UTF8.self)
        #expect(answer.contains("\"blocked\""), "the woken holder answered: \(answer)")
        #expect(answer.contains("LEASE_LOST"), "\(answer)")
        let placed = hosts.homes[holder.0].events("ES", type: .orderPlaced).filter { $0.pid == holder.1.pid }
        #expect(placed.isEmpty, "placed on fence \(placed.map(\.fence)) (old fence \(oldFence))")
        #expect(hosts.homes[holder.0].events("ES", type: .orderBlocked).contains { $0.pid == holder.1.pid }, "\(hosts.describe())")
        let lost = try #require(
            hosts.homes[holder.0].events("ES", type: .leaseStatus).first {
                $0.pid == holder.1.pid && $0.data["state"]?.stringValue == "LEASE_LOST"
            },
            "\(hosts.describe())")
        #expect(lost.fence == oldFence)
        // It then waits as a standby of the new holder.
        try waitFor("the woken holder to be a STANDBY", seen: { hosts.describe() }) {
            hosts.leaseState(holder.0, pid: holder.1.pid) == "STANDBY" ? true : nil
        }
        #expect(hosts.mode(standby.0, pid: standby.1.pid) == "AGGRESSIVE")
    }

    @Test func theDatabaseKilledStopsTheHolderByItsDeadlineNobodyTakesOverAndOneHolderReturnsWithAHigherFence() throws {
        let hosts = try LeaseHosts(count: 2)
        defer { hosts.cleanup() }
        let workers = [(0, try hosts.startWorker(0)), (1, try hosts.startWorker(1))]
        let h = try failover.oneHolder(hosts, workers)
        let holder = workers[h]
        let fenceBefore = Int64(try hosts.pg.psql("SELECT fence FROM robot_lease WHERE market = 'ES'")) ?? 0
        let killedAt = MonotonicClock.nowNanos()
        try hosts.pg.kill()
        let lostEvent = try waitFor("the holder to stop trading (LEASE_LOST)", timeout: hosts.leaseSeconds + 5, seen: { hosts.describe() })
        {
            hosts.homes[holder.0].events("ES", type: .systemModeChange).last {
                $0.pid == holder.1.pid && $0.data["to"]?.stringValue == "OBSERVE_ONLY"
                    && ($0.data["monotonic_ns"]?.intValue ?? 0) >= killedAt
            }
        }
        let stoppedAfter = Double((lostEvent.data["monotonic_ns"]?.intValue ?? 0) - killedAt) / 1e9
        print("\(#function): database killed -> holder OBSERVE_ONLY in \(Int(stoppedAfter * 1000)) ms")
        #expect(stoppedAfter <= hosts.leaseSeconds, "\(stoppedAfter) s")
        #expect(lostEvent.data["reason"]?.stringValue?.hasPrefix("LEASE_LOST") == true, "\(lostEvent.data.jsonTextForTest)")
        // Every worker reports the database unreachable.
        for (i, w) in workers {
            try waitFor("\(hosts.names[i]) to report DATABASE_UNREACHABLE", seen: { hosts.describe() }) {
                hosts.homes[i].events("ES", type: .leaseStatus).contains {
                    $0.pid == w.pid && $0.data["database_reachable"] == .bool(false)
                }
                    ? true : nil
            }
        }
        // Nobody trades while it is down.
        let downFor = MonotonicClock.nowNanos()
        try hosts.pg.restart()
        let restartedAt = MonotonicClock.nowNanos()
        for (i, w) in workers {
            #expect(
                hosts.aggressiveSince(i, pid: w.pid, since: lostEvent.data["monotonic_ns"]?.intValue ?? killedAt) == nil
                    || (hosts.aggressiveSince(i, pid: w.pid, since: lostEvent.data["monotonic_ns"]?.intValue ?? killedAt)?.data[
                        "monotonic_ns"]?.intValue ?? 0) >= restartedAt - 100_000_000,
                "\(hosts.names[i]) traded while the database was down")
        }
        _ = downFor
        // One host holds it again, with a higher fence.
        let back = try waitFor("one holder again", timeout: hosts.leaseSeconds * 3 + 10, seen: { hosts.describe() }) { () -> Event? in
            let aggressive = workers.compactMap { hosts.aggressiveSince($0.0, pid: $0.1.pid, since: restartedAt - 100_000_000) }
            return aggressive.count == 1 ? aggressive[0] : nil
        }
        #expect(back.fence > fenceBefore, "fence \(back.fence) after \(fenceBefore)")
        let fenceAfter = Int64(try hosts.pg.psql("SELECT fence FROM robot_lease WHERE market = 'ES'")) ?? 0
        #expect(fenceAfter == back.fence)
        _ = try failover.oneHolder(hosts, workers)
    }

    @Test func aDatabaseAtANewerSchemaVersionIsRefusedWithExit78() throws {
        let hosts = try LeaseHosts(count: 1)
        defer { hosts.cleanup() }
        let first = try hosts.startWorker(0)
        try waitFor("the first worker to hold the lease", seen: { hosts.describe() }) {
            hosts.leaseState(0, pid: first.pid) == "HOLDER" ? true : nil
        }
        first.signal(SIGTERM)
        #expect(try first.waitForExit() == 0)
        try hosts.pg.psql("UPDATE robot_runtime_schema SET version = 99")
        let second = try hosts.startWorker(0)
        #expect(try second.waitForExit() == 78, "\(second.stderr)")
        #expect(second.stderr.contains("version 99, newer than this program's 1"), "\(second.stderr)")
    }

    @Test func aWrongPasswordIsRefusedWithExit78NamingTheDatabase() throws {
        let hosts = try LeaseHosts(count: 1)
        defer { hosts.cleanup() }
        let wrong = hosts.homes[0].path + "/wrong-password"
        try "not-the-password\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        chmod(wrong, 0o600)
        try hosts.homes[0].writeConfig(LeaseHosts.config(name: "host-a", url: hosts.pg.url, passwordFile: wrong, lease: 2, markets: ["ES"]))
        let worker = try hosts.startWorker(0)
        #expect(try worker.waitForExit() == 78, "\(worker.stderr)")
        #expect(worker.stderr.contains("authentication failed") && worker.stderr.contains("127.0.0.1:\(hosts.pg.port)"), "\(worker.stderr)")
    }

    @Test func aDatabaseUnreachableAtStartLeavesTheWorkerRunningAsAStandbyThatSaysWhy() throws {
        let port = try PostgresCluster.freeLoopbackPort()
        let hosts = try LeaseHosts(count: 1, url: "postgresql://robot@127.0.0.1:\(port)/robot")
        defer { hosts.cleanup() }
        let worker = try hosts.startWorker(0)
        let report = try waitFor("the worker to report the database unreachable", seen: { hosts.describe() }) {
            hosts.homes[0].events("ES", type: .leaseStatus).last { $0.pid == worker.pid && $0.data["database_reachable"] == .bool(false) }
        }
        #expect(report.data["reason"]?.stringValue?.contains("DATABASE_UNREACHABLE") == true, "\(report.data.jsonTextForTest)")
        let mode = try #require(hosts.homes[0].events("ES", type: .systemModeChange).last { $0.pid == worker.pid })
        #expect(mode.data["to"]?.stringValue == "OBSERVE_ONLY")
        #expect(mode.data["reason"]?.stringValue?.contains("STANDBY: DATABASE_UNREACHABLE") == true, "\(mode.data.jsonTextForTest)")
        #expect(worker.isRunning, "\(worker.stderr)")
        let order = try hosts.order(0)
        #expect(try order.waitForExit() == 1, "\(order.stdout)")
    }
}
