import Foundation
import Platform
import TestSupport
import Testing
import Wire

/// The strategy process under the lease across hosts (issues 15 and 17): a STANDBY worker runs no
/// strategy; the worker that takes the market over starts its own, and the dead holder's strategy
/// died with it.
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"), .serialized)
struct LeaseStrategyTests {
    static let scripted = MetricsProbe.packageRoot + "/scenarios/strategy/scripted.py"

    /// Whether `pid` runs (a zombie waiting for its reaper does not).
    func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    func strategyPid(_ path: String) -> Int32? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func aStandbyRunsNoStrategyUntilItTakesTheMarketOver() throws {
        let hosts = try LeaseHosts(count: 2)
        defer { hosts.cleanup() }
        var pidFiles: [String] = []
        for i in 0..<2 {
            let pidFile = hosts.homes[i].path + "/strategy.pid"
            pidFiles.append(pidFile)
            var c = LeaseHosts.config(
                name: hosts.names[i], url: hosts.pg.url, passwordFile: hosts.pg.passwordFile, lease: hosts.leaseSeconds, markets: ["ES"])
            c.strategies = [
                "ES": "{\"command\": [\"python3\", \"\(Self.scripted)\", \"pidfile\", \"\(pidFile)\"], \"heartbeat_seconds\": 2}"
            ]
            try hosts.homes[i].writeConfig(c)
        }
        let workers = [try hosts.startWorker(0), try hosts.startWorker(1)]
        let h = try waitFor("one AGGRESSIVE holder, the other STANDBY", timeout: 15, seen: { hosts.describe() }) { () -> Int? in
            let holders = (0..<2).filter {
                hosts.mode($0, pid: workers[$0].pid) == "AGGRESSIVE" && hosts.leaseState($0, pid: workers[$0].pid) == "HOLDER"
            }
            let standbys = (0..<2).filter { hosts.leaseState($0, pid: workers[$0].pid) == "STANDBY" }
            return holders.count == 1 && standbys.count == 1 ? holders[0] : nil
        }
        let s = 1 - h
        // The holder's strategy runs; the standby's never started (it is READY all the same).
        let holderStrategy = try waitFor("the holder's strategy to start", timeout: 15, seen: { hosts.describe() }) { () -> Int32? in
            strategyPid(pidFiles[h]).flatMap { isRunning($0) ? $0 : nil }
        }
        #expect(!hosts.homes[h].events("ES", type: .strategyStarted).filter { $0.pid == workers[h].pid }.isEmpty)
        #expect(hosts.homes[s].events("ES", type: .strategyStarted).filter { $0.pid == workers[s].pid }.isEmpty, "\(hosts.describe())")
        #expect(strategyPid(pidFiles[s]) == nil, "the standby started a strategy")
        #expect(workers[s].isRunning)

        // The holder dies: its strategy dies with it; the standby takes over and starts its own.
        workers[h].signal(SIGKILL)
        _ = try waitFor("the dead holder's strategy to be gone", timeout: 5) { isRunning(holderStrategy) ? nil : true }
        let standbyStrategy = try waitFor(
            "the new holder's strategy to start", timeout: hosts.leaseSeconds + 15, seen: { hosts.describe() }
        ) {
            () -> Int32? in strategyPid(pidFiles[s]).flatMap { isRunning($0) ? $0 : nil }
        }
        let aggressive = try #require(hosts.aggressiveSince(s, pid: workers[s].pid, since: 0), "\(hosts.describe())")
        let started = try #require(hosts.homes[s].events("ES", type: .strategyStarted).first { $0.pid == workers[s].pid })
        #expect(started.seq! > aggressive.seq!, "the strategy starts once the market is held: \(hosts.describe())")
        #expect(started.fence == aggressive.fence)
        workers[s].signal(SIGKILL)
        _ = try waitFor("the new holder's strategy to die with its worker", timeout: 5) { isRunning(standbyStrategy) ? nil : true }
    }
}
