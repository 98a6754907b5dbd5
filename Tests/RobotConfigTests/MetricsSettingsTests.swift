import RobotConfig
import Testing

/// The `metrics` section: off by default, loopback only, each port once, known markets only.
@Suite struct MetricsSettingsTests {
    func parse(_ section: String?) throws(ConfigError) -> MetricsSettings {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}, "#
        text += #""NQ": {"execution": "", "streams": {"NQ1": {"instrument": "NQ"}}}}"#
        if let section { text += #", "metrics": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: "/h").metrics
    }

    @Test func offByDefault() throws {
        #expect(try parse(nil).isOff)
        #expect(try parse("{}").isOff)
        #expect(try parse("{}").host == "127.0.0.1")
    }

    @Test func everyKeyIsRead() throws {
        let s = try parse(#"{"host": "::1", "watchdog_port": 9400, "supervisor_port": 9401, "worker_ports": {"ES": 9410, "NQ": 9411}}"#)
        #expect(s.host == "::1" && s.watchdogPort == 9400 && s.supervisorPort == 9401 && s.workerPorts == ["ES": 9410, "NQ": 9411])
    }

    @Test(arguments: [
        (#"{"host": "0.0.0.0"}"#, "metrics.host", "loopback"),
        (#"{"host": "10.0.0.1"}"#, "metrics.host", "loopback"),
        (#"{"host": "127.0.0.256"}"#, "metrics.host", "loopback"),
        (#"{"supervisor_port": 0}"#, "metrics.supervisor_port", "1 to 65535"),
        (#"{"supervisor_port": 9400, "watchdog_port": 9400}"#, "metrics.supervisor_port", "already the watchdog's"),
        (#"{"supervisor_port": 9401, "worker_ports": {"ES": 9401}}"#, "metrics.worker_ports.ES", "already the supervisor's"),
        (#"{"worker_ports": {"MES": 9410}}"#, "metrics.worker_ports.MES", "not a configured market"),
        (#"{"port": 9400}"#, "metrics.port", "unknown key"),
    ])
    func refusedWithTheKey(section: String, key: String, expected: String) {
        do {
            _ = try parse(section)
            Issue.record("\(section) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.expected.contains(expected), "\(error)")
        }
    }
}
