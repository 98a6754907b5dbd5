import Foundation
import Testing
import Wire

/// Issues 9 and 22's chaos test, run short: scenarios/chaos/chaos.py kills random processes of a real
/// stack (watchdog, supervisor, four workers) with SIGKILL or SIGSTOP/SIGCONT, deletes and replaces
/// lock files and places orders, for a minute with a fixed seed; then the stack must settle (nothing
/// in flight) and its oracle (scenarios/chaos/oracle.py) checks every run against its journal:
/// exactly once, AGGRESSIVE windows that never overlap, unique client order IDs, fences that never
/// go back. docs/RELIABILITY.md says how to run it long.
@Suite struct ChaosTests {
    static let python = "/usr/bin/python3"

    /// The oracle's own tests (pytest): each check fails on the fault it is there to see (an
    /// overlap of AGGRESSIVE windows, a loss hidden by a double apply, a repeated client order ID…).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs python3"))
    func theOracleFailsOnEachFaultItChecksFor() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try RunningProcess(
            executable: Self.python,
            arguments: ["-m", "pytest", "-q", "-p", "no:cacheprovider", MetricsProbe.packageRoot + "/scenarios/chaos/test_oracle.py"],
            environment: [:], logPrefix: out)
        let status = try p.waitForExit(timeout: 60)
        #expect(status == 0, "\(p.stdout)\(p.stderr)")
        #expect(p.stdout.contains(" passed"), "\(p.stdout)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python), "needs python3"))
    func aMinuteOfRandomKillsLosesNoEventAppliesNoneTwiceAndNeverRunsTwoExecutors() throws {
        let script = MetricsProbe.packageRoot + "/scenarios/chaos/chaos.py"
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("chaos-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try RunningProcess(
            executable: Self.python, arguments: [script, "--duration", "60", "--seed", "20261121", "--bin", Binaries.directory],
            environment: [:], logPrefix: out)
        let status = try p.waitForExit(timeout: 240)
        let printed = p.stdout + p.stderr
        if let table = printed.range(of: "=== chaos figures ===") { print(printed[table.lowerBound...]) }
        let line = try #require(printed.split(separator: "\n").last { $0.hasPrefix("CHAOS_RESULT ") }, "\(printed)")
        let figures = try #require(try JSONParser.parse(Array(line.dropFirst("CHAOS_RESULT ".count).utf8)).objectValue)
        #expect(status == 0, "\(printed)")
        #expect(figures["violations"]?.arrayValue?.isEmpty == true, "\(printed)")
        #expect(figures["lost"]?.intValue == 0, "\(printed)")
        #expect(figures["applied_twice"]?.intValue == 0, "\(printed)")
        #expect(figures["double_executor_moments"]?.intValue == 0, "\(printed)")
        #expect(figures["in_flight"]?.intValue == 0, "the stack settled: \(printed)")
        #expect(figures["overlapping_aggressive_windows"]?.intValue == 0, "\(printed)")
        #expect((figures["faults_total"]?.intValue ?? 0) >= 30, "the run injected faults: \(printed)")
        let faults = try #require(figures["faults"]?.objectValue)
        #expect(
            (faults["lock_delete"]?.intValue ?? 0) + (faults["lock_replace"]?.intValue ?? 0) >= 2,
            "lock files were deleted or replaced: \(printed)")
        #expect((figures["events_applied"]?.intValue ?? 0) > 1000, "\(printed)")
        #expect((figures["orders_placed"]?.intValue ?? 0) >= 20, "orders were placed all along: \(printed)")
        #expect((figures["aggressive_windows"]?.intValue ?? 0) >= 8, "runs traded and were replaced: \(printed)")
        let markets = try #require(figures["per_market"]?.objectValue)
        #expect(markets.members.count == 4)
        for (m, v) in markets.members {
            let f = try #require(v.objectValue)
            #expect(f["fences_increasing"] == .bool(true), "\(m): \(printed)")
            #expect(f["gaps"]?.intValue == 0, "\(m)")
            #expect(f["in_flight"]?.intValue == 0, "\(m)")
        }
    }
}
