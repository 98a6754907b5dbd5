import ArgumentParser
import RobotConfig
import SupervisorCore

/// `supervisor`: one robot-worker per market, restarted with backoff, controlled over a Unix
/// socket (docs/supervisor.md).
struct SupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Run one robot-worker per configured market and control them.",
        discussion: "Exit statuses: 0 done (status: every market RUNNING), 1 not every market RUNNING or the change failed, "
            + "2 request refused, 3 the supervisor is not running, 64 usage, 71 system error, 77 not permitted, "
            + "78 configuration error, 100 another supervisor already runs. See docs/supervisor.md and docs/EXIT-STATUS.md.",
        subcommands: [Run.self, Status.self, Start.self, Stop.self, Restart.self, Reload.self])
}

struct Common: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: $ROBOT_CONFIG, else the embedded default).")
    var config: String?

    @Option(name: .long, help: "The folder relative paths resolve against (default: $ROBOT_HOME, else the current folder).")
    var home: String?

    var options: SupervisorOptions {
        SupervisorOptions(configPath: config, home: home, environment: ProcessInfoEnvironment.current())
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Supervise every configured market until SIGTERM or SIGINT.")
    @OptionGroup var common: Common

    func run() throws { throw ExitCode(Supervisor.run(common.options).rawValue) }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every market; exit 0 only when all are RUNNING.")
    @OptionGroup var common: Common
    @Flag(name: .long, help: "Print the supervisor's JSON answer.") var json = false

    func run() throws {
        throw ExitCode(SupervisorClient.run(ControlRequest(command: .status), json: json, options: common.options).rawValue)
    }
}

struct MarketArgument: ParsableArguments {
    @Argument(help: "A canonical (ES) or execution (MES) instrument.") var market: String
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a market (also out of BLOCKED or FATAL); wait until it runs.")
    @OptionGroup var common: Common
    @OptionGroup var target: MarketArgument

    func run() throws { throw ExitCode(send(.start, target.market, common)) }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop a market; wait until its worker has ended.")
    @OptionGroup var common: Common
    @OptionGroup var target: MarketArgument

    func run() throws { throw ExitCode(send(.stop, target.market, common)) }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop and start a market; wait until the new worker runs.")
    @OptionGroup var common: Common
    @OptionGroup var target: MarketArgument

    func run() throws { throw ExitCode(send(.restart, target.market, common)) }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read the configuration: start added markets, stop removed ones.")
    @OptionGroup var common: Common

    func run() throws { throw ExitCode(send(.reload, nil, common)) }
}

func send(_ command: ControlRequest.Command, _ market: String?, _ common: Common) -> Int32 {
    SupervisorClient.run(ControlRequest(command: command, market: market), json: false, options: common.options).rawValue
}

SupervisorCommand.main()
