import RobotConfig
import Testing

@testable import SupervisorCore

@Suite struct WorkerLaunchTests {
    func config(_ supervisor: String) throws -> Configuration {
        let text = """
            {"markets": {"ES": {"execution": "MES", "streams": {"ES1": {"instrument": "ES"}}}}, "instrument_map": {"MES": "ES"},
             "supervisor": \(supervisor)}
            """
        return try ConfigLoader.parse(Array(text.utf8), source: "/etc/robot.json", home: "/srv/robot")
    }

    @Test func theDefaultCommandIsRobotWorkerNextToTheSupervisor() throws {
        let launch = WorkerLaunch(
            market: "ES", config: try config("{}"), configFile: "/etc/robot.json", workerDirectory: "/opt/bin",
            notifySocket: "/run/n.sock", supervisorPid: 42, inherited: ["NOTIFY_SOCKET": "/systemd", "WATCHDOG_PID": "1", "PATH": "/bin"])
        #expect(launch.argv == ["/opt/bin/robot-worker", "--market", "ES", "--config", "/etc/robot.json", "--home", "/srv/robot"])
        #expect(launch.environment.contains("NOTIFY_SOCKET=/run/n.sock"))
        #expect(launch.environment.contains("WATCHDOG_USEC=10000000"))
        #expect(launch.environment.contains("ROBOT_SUPERVISOR_PID=42"))
        #expect(launch.environment.contains("PATH=/bin"))
        #expect(!launch.environment.contains { $0.hasPrefix("WATCHDOG_PID=") })
        #expect(launch.environment.filter { $0.hasPrefix("NOTIFY_SOCKET=") }.count == 1)
    }

    @Test func aConfiguredCommandHasItsPlaceholdersReplaced() throws {
        let c = try config(#"{"worker_command": ["/bin/sh", "-c", "exec w {market} {config} {home} {market}"], "watchdog_seconds": 0.5}"#)
        let launch = WorkerLaunch(
            market: "ES", config: c, configFile: "/etc/robot.json", workerDirectory: "/x", notifySocket: "/n", supervisorPid: 1,
            inherited: [:])
        #expect(launch.argv == ["/bin/sh", "-c", "exec w ES /etc/robot.json /srv/robot ES"])
        #expect(launch.environment.contains("WATCHDOG_USEC=500000"))
    }
}
