import RobotConfig
import Testing

/// The `supervisor` section: documented defaults, and errors that name the key.
@Suite struct SupervisorSettingsTests {
    func parse(_ section: String?) throws(ConfigError) -> SupervisorSettings {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}}"#
        if let section { text += #", "supervisor": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: "/h").supervisor
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let s = try parse(nil)
        #expect(s.workerCommand == nil)
        #expect(s.startTimeout == 10 && s.watchdog == 10 && s.watchdogKillGrace == 2 && s.stopTimeout == 5)
        #expect(s.minUptime == 5 && s.backoffInitial == 0.1 && s.backoffMax == 10 && s.backoffMultiplier == 2 && s.backoffJitter == 0.2)
        #expect(s.maxRestarts == 5 && s.restartWindow == 60)
        #expect(try parse("{}") == s)
    }

    @Test func everyKeyIsRead() throws {
        let s = try parse(
            #"{"worker_command": ["/bin/true"], "watchdog_seconds": 1, "watchdog_kill_grace_seconds": 0.5, "start_timeout_seconds": 2, "#
                + #""stop_timeout_seconds": 3, "min_uptime_seconds": 4, "backoff_initial_seconds": 0.2, "backoff_max_seconds": 6, "#
                + #""backoff_multiplier": 3, "backoff_jitter": 0.1, "max_restarts": 7, "restart_window_seconds": 8}"#)
        #expect(s.workerCommand == ["/bin/true"])
        #expect(s.watchdog == 1 && s.watchdogKillGrace == 0.5 && s.startTimeout == 2 && s.stopTimeout == 3 && s.minUptime == 4)
        #expect(s.backoffInitial == 0.2 && s.backoffMax == 6 && s.backoffMultiplier == 3 && s.backoffJitter == 0.1)
        #expect(s.maxRestarts == 7 && s.restartWindow == 8)
    }

    @Test(arguments: [
        (#"{"max_restart": 1}"#, "supervisor.max_restart: unknown key"),
        (#"{"max_restarts": 1.5}"#, "supervisor.max_restarts: 1.5: expected a whole number"),
        (#"{"worker_command": "robot-worker"}"#, "supervisor.worker_command"),
        (#"{"worker_command": ["robot-worker"]}"#, "expected an absolute path"),
        (
            #"{"backoff_initial_seconds": 5, "backoff_max_seconds": 1}"#,
            "supervisor.backoff_max_seconds: 1: expected at least backoff_initial_seconds (5)"
        ),
        (#"{"watchdog_seconds": 0}"#, "supervisor.watchdog_seconds: 0: expected a number from"),
    ])
    func badValuesNameTheKey(_ section: String, _ message: String) {
        do {
            _ = try parse(section)
            Issue.record("accepted \(section)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }
}
