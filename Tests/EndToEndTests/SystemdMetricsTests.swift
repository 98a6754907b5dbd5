import Foundation
import Testing

/// Metrics, alert pushes and `systemctl reload` under the shipped units and a real systemd user
/// manager (`tools/systemd-sandbox`, `scenarios/systemd/check-metrics`): scripts/install's network
/// drop-ins let the watchdog, the supervisor and a worker serve /metrics (and the watchdog post to a
/// webhook) while a worker without a port stays Unix-only. Needs root; skipped otherwise.
@Suite struct SystemdMetricsTests {
    static var repository: String { ContribFilesTests.repository }
    static var canRun: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd") }

    @Test(
        .enabled(if: canRun, "needs root and systemd installed: the sandbox makes a private mount namespace and cgroup"),
        .timeLimit(.minutes(3)))
    func metricsAlertsAndReloadWorkUnderARealSystemdUserManager() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let p = try RunningProcess(
            executable: Self.repository + "/tools/systemd-sandbox",
            arguments: [Self.repository + "/scenarios/systemd/check-metrics", Binaries.directory], environment: [:],
            logPrefix: home.path + "/check-metrics")
        let status = try p.waitForExit(timeout: 150)
        print(p.stdout)
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("PASS:") }.count >= 8, "not every check ran: \(p.stdout)\(p.stderr)")
        for line in lines where line.hasPrefix("FAIL:") { Issue.record("\(line)") }
        #expect(status == 0, "check-metrics exited \(status); stderr: \(p.stderr)")
    }
}
