import Foundation
import Testing

/// `scripts/network-drop-ins`, which scripts/install runs: one drop-in per unit whose metrics or
/// alerting need the network, with only the families and addresses the configuration names, and
/// none left behind when the configuration no longer needs it. (Under a real systemd:
/// SystemdMetricsTests.)
@Suite struct NetworkDropInsTests {
    func run(_ config: String, in home: TestHome) throws -> CommandResult {
        try config.write(toFile: home.configPath, atomically: true, encoding: .utf8)
        let p = try RunningProcess(
            executable: ContribFilesTests.repository + "/scripts/network-drop-ins", arguments: [home.configPath, home.path + "/units"],
            environment: [:], logPrefix: home.path + "/drop-ins-\(UUID().uuidString.prefix(6))")
        let status = try p.waitForExit(timeout: 30)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    func dropIns(_ home: TestHome) -> [String: String] {
        let units = home.path + "/units"
        var out: [String: String] = [:]
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: units)) ?? [] {
            if let text = try? String(contentsOfFile: units + "/" + dir + "/20-network.conf", encoding: .utf8) { out[dir] = text }
        }
        return out
    }

    func line(_ text: String?, _ key: String) -> String? {
        text?.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    @Test func eachUnitGetsOnlyWhatItsMetricsAndAlertingNeedAndLosesItWhenTheyGo() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try FileManager.default.createDirectory(atPath: home.path + "/units/robot-.service.d", withIntermediateDirectories: true)
        let first = try run(
            #"{"markets": {}, "metrics": {"host": "::1", "supervisor_port": 9401, "worker_ports": {"ES": 9410}}, "#
                + #""alerting": {"alertmanager_url": "http://192.0.2.7:9093", "webhook_url": "http://alerts.internal/hook"}}"#, in: home)
        #expect(first.status == 0, "\(first.stderr)")
        let d = dropIns(home)
        #expect(Set(d.keys) == ["robot-supervisor.service.d", "robot-watchdog.service.d", "robot-worker@ES.service.d"], "\(d.keys)")
        #expect(line(d["robot-worker@ES.service.d"], "RestrictAddressFamilies") == "AF_UNIX AF_INET6")
        #expect(line(d["robot-worker@ES.service.d"], "IPAddressDeny") == "any")
        #expect(line(d["robot-worker@ES.service.d"], "IPAddressAllow") == "localhost")
        #expect(line(d["robot-supervisor.service.d"], "RestrictAddressFamilies") == "AF_UNIX AF_INET6", "its workers' ports")
        // A receiver named by host name: both families, no address list (it is resolved at each post).
        #expect(line(d["robot-watchdog.service.d"], "RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6")
        #expect(line(d["robot-watchdog.service.d"], "IPAddressDeny") == nil)

        let second = try run(#"{"markets": {}, "alerting": {"alertmanager_url": "http://192.0.2.7:9093"}}"#, in: home)
        #expect(second.status == 0, "\(second.stderr)")
        let after = dropIns(home)
        #expect(Set(after.keys) == ["robot-watchdog.service.d"], "the others' allowances went with their ports: \(after.keys)")
        #expect(line(after["robot-watchdog.service.d"], "IPAddressAllow") == "192.0.2.7")
        #expect(line(after["robot-watchdog.service.d"], "RestrictAddressFamilies") == "AF_UNIX AF_INET")
        #expect(!FileManager.default.fileExists(atPath: home.path + "/units/robot-worker@ES.service.d"))
        #expect(FileManager.default.fileExists(atPath: home.path + "/units/robot-.service.d"), "the hardening's folder stays")

        // The venue's TCP listener: its own unit's, and the supervisor's when the supervisor runs it.
        let markets = #"{"markets": {"ES": {}}, "venue": {"address": "127.0.0.1:9470", "#
        _ = try run(markets + #""kind": "paper"}}"#, in: home)
        #expect(line(dropIns(home)["robot-supervisor.service.d"], "IPAddressAllow") == "localhost", "\(dropIns(home))")
        #expect(line(dropIns(home)["robot-paper-venue.service.d"], "IPAddressAllow") == "localhost", "\(dropIns(home))")
        _ = try run(markets + #""kind": "paper", "supervised": false}}"#, in: home)
        #expect(dropIns(home)["robot-supervisor.service.d"] == nil, "opted out: \(dropIns(home))")
        _ = try run(markets + #""markets": {"ES": "paper"}}}"#, in: home)
        #expect(dropIns(home)["robot-supervisor.service.d"] != nil, "\(dropIns(home))")
        _ = try run(#"{"markets": {}, "alerting": {"alertmanager_url": "http://192.0.2.7:9093"}}"#, in: home)

        let bad = try run("{not json", in: home)
        #expect(bad.status != 0 && bad.stderr.contains(home.configPath) && bad.stderr.contains("not valid JSON"), "\(bad.stderr)")
        #expect(Set(dropIns(home).keys) == ["robot-watchdog.service.d"], "a bad file changes nothing")
    }
}
