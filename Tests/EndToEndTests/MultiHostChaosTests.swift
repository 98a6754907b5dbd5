import Foundation
import TestSupport
import Testing
import Wire

/// Issue 15's chaos run across hosts, a minute in the suite: scenarios/chaos/multihost.py runs
/// three "hosts" (each its own home, `guard.host`, watchdog and supervisor, and its own partition
/// proxy to one throwaway PostgreSQL) and hits them with random worker kills and stops, supervisor
/// kills, whole-host kills and proxy partitions (stalled and closed), one after another, each
/// followed by a quiet spell of the lease + 1 s. Its oracle (scenarios/chaos/oracle.py) then checks
/// every host's journals on the shared monotonic clock: no two AGGRESSIVE windows of a market
/// overlap, fences strictly increase across hosts, client order IDs are unique, and every market
/// is traded again within the lease + 1 s after each fault. docs/TESTING.md says how to run it long.
@Suite struct MultiHostChaosTests {
    @Test(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"))
    func aMinuteOfKillsStopsAndPartitionsAcrossThreeHostsNeverTradesAMarketTwice() throws {
        let script = MetricsProbe.packageRoot + "/scenarios/chaos/multihost.py"
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("multihost-chaos-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try RunningProcess(
            executable: "/usr/bin/python3",
            arguments: [
                script, "--duration", "60", "--seed", "20261204", "--hosts", "3", "--markets", "3", "--lease", "1.5", "--bin",
                Binaries.directory,
            ],
            environment: [:], logPrefix: out)
        let status = try p.waitForExit(timeout: 300)
        let printed = p.stdout + p.stderr
        if let table = printed.range(of: "=== multi-host chaos figures ===") { print(printed[table.lowerBound...]) }
        let line = try #require(printed.split(separator: "\n").last { $0.hasPrefix("MULTIHOST_CHAOS_RESULT ") }, "\(printed)")
        let figures = try #require(try JSONParser.parse(Array(line.dropFirst("MULTIHOST_CHAOS_RESULT ".count).utf8)).objectValue)
        #expect(status == 0, "\(printed)")
        #expect(figures["violations"]?.arrayValue?.isEmpty == true, "\(printed)")
        #expect(figures["overlapping_aggressive_windows"]?.intValue == 0, "\(printed)")
        let faults = try #require(figures["faults"]?.objectValue)
        let count = { (k: String) in faults[k]?.intValue ?? 0 }
        #expect((figures["faults_total"]?.intValue ?? 0) >= 10, "the run injected faults: \(printed)")
        #expect(count("worker_kill") + count("host_kill") >= 2, "holders were killed: \(printed)")
        #expect(count("worker_stop") >= 1, "\(printed)")
        #expect(count("partition_stall") + count("partition_close") >= 2, "hosts were partitioned: \(printed)")
        // Markets changed hands (more windows than markets) and orders went out all along.
        #expect((figures["aggressive_windows"]?.intValue ?? 0) >= 6, "\(printed)")
        #expect((figures["orders_placed"]?.intValue ?? 0) >= 20, "\(printed)")
        let longest = try #require(figures["longest_recovery_s"]?.doubleValue)
        #expect(longest <= 2.5, "every market traded again within the lease + 1 s: \(printed)")
    }
}
