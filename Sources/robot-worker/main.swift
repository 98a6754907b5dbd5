import ArgumentParser
import RobotConfig
import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// `robot-worker --market SYMBOL`: one canonical market's executor (docs/robot-worker.md).
struct RobotWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robot-worker",
        abstract: "Run one canonical market's executor: hold its lock, check its identity, journal its events.",
        discussion: "Exit statuses: 0 stopped, 64 usage, 65 fence file damaged, 73 cannot create the lock or state folder, "
            + "75 started by a supervisor that is already gone, 78 configuration error or unknown market, 100 another executor holds the market (do not restart). "
            + "See docs/robot-worker.md.")

    @Option(name: .long, help: "The market: a canonical instrument (ES) or an execution instrument (MES).")
    var market: String

    @Option(name: .long, help: "The configuration file (default: $ROBOT_CONFIG, else the embedded default).")
    var config: String?

    @Option(name: .long, help: "The folder relative paths resolve against (default: $ROBOT_HOME, else the current folder).")
    var home: String?

    func run() throws {
        let status = Worker.run(
            WorkerOptions(symbol: market, configPath: config, home: home, environment: ProcessInfoEnvironment.current()))
        throw ExitCode(status.rawValue)
    }
}

RobotWorkerCommand.main()
