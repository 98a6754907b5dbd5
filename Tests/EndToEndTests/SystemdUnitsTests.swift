import Foundation
import Testing

/// The units in `units/`, installed as shipped, under a real systemd user manager
/// (`tools/systemd-sandbox`, `scenarios/systemd/check-units`): each check prints PASS or FAIL.
/// Needs root for the sandbox's private mount namespace and cgroup; skipped otherwise.
@Suite struct SystemdUnitsTests {
    static var repository: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }

    static var canRun: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd") }

    @Test(
        .enabled(if: canRun, "needs root and systemd installed: the sandbox makes a private mount namespace and cgroup"),
        .timeLimit(.minutes(5)))
    func everyCheckPassesUnderARealSystemdUserManager() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let p = try RunningProcess(
            executable: Self.repository + "/tools/systemd-sandbox",
            arguments: [Self.repository + "/scenarios/systemd/check-units", Binaries.directory], environment: [:],
            logPrefix: home.path + "/check-units")
        let status = try p.waitForExit(timeout: 240)
        print(p.stdout)
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("PASS:") }, "no check ran: \(p.stderr)")
        for line in lines where line.hasPrefix("FAIL:") { Issue.record("\(line)") }
        #expect(status == 0, "check-units exited \(status); stderr: \(p.stderr)")
    }
}
