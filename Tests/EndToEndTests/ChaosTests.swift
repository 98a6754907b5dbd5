import Foundation
import Wire
import Testing

/// Issue 9's chaos test, run short: scenarios/chaos/chaos.py kills random processes of a real stack
/// (watchdog, supervisor, four workers) with SIGKILL or SIGSTOP/SIGCONT for a minute with a fixed
/// seed, then checks the journals against the watchdog. docs/RELIABILITY.md says how to run it long.
@Suite struct ChaosTests {
    static let python = "/usr/bin/python3"

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
        #expect((figures["faults_total"]?.intValue ?? 0) >= 30, "the run injected faults: \(printed)")
        #expect((figures["events_applied"]?.intValue ?? 0) > 1000, "\(printed)")
        let markets = try #require(figures["per_market"]?.objectValue)
        #expect(markets.members.count == 4)
        for (m, v) in markets.members {
            let f = try #require(v.objectValue)
            #expect(f["fences_increasing"] == .bool(true), "\(m): \(printed)")
            #expect(f["gaps"]?.intValue == 0, "\(m)")
        }
    }
}
