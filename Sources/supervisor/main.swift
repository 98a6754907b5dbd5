import ArgumentParser
import OperatorCommands
import RobotConfig
import SupervisorCore

/// `supervisor`: one robot-worker per market, restarted with backoff, controlled over a Unix
/// socket (docs/supervisor.md).
struct SupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervisor",
        abstract: "Run one robot-worker per configured market and control them.",
        discussion: "Exit statuses: 0 done (status: every market shown RUNNING), 1 not every market RUNNING or the change failed, "
            + "2 request refused, 3 the supervisor is not running, 4 status: unknown market, 64 usage, 71 system error, 77 not permitted, "
            + "78 configuration error, 100 another supervisor already runs. See docs/supervisor.md and docs/EXIT-STATUS.md.",
        version: ProgramVersion.line("supervisor"),
        subcommands: [Run.self, Status.self, Start.self, Stop.self, Restart.self, Reload.self, Logs.self])
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Supervise every configured market until SIGTERM or SIGINT.")
    @OptionGroup var common: ConfigOptions

    func run() throws { throw ExitCode(Supervisor.run(common.location).rawValue) }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the markets (all, or those named); exit 0 only when all shown are RUNNING, 4 for an unknown market.")
    @OptionGroup var common: ConfigOptions
    @Argument(
        help: ArgumentHelp("Markets: canonical (ES) or execution (MES) instruments, any case (default: all).", valueName: "market"),
        completion: MarketCompletion.markets)
    var markets: [String] = []
    @Flag(name: .long, help: "Print the supervisor's JSON answer.") var json = false
    @Flag(name: .long, help: "Show it again every --interval seconds until interrupted (redrawn in place on a terminal).") var watch = false
    @Option(name: .long, help: "Seconds between --watch rounds.") var interval: Double = 2

    func validate() throws {
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval: expected 0.1 to 3600 seconds, got \(interval)") }
    }

    func run() throws {
        guard watch else { throw ExitCode(SupervisorClient.status(markets: markets, json: json, options: common.location).rawValue) }
        StatusWatch.run(interval: interval) {
            let answer = SupervisorClient.statusAnswer(markets: markets, json: json, options: common.location)
            return (answer.text ?? "", answer.error.map { "supervisor: " + $0 })
        }
    }
}

struct Markets: ParsableArguments {
    @Argument(
        help: ArgumentHelp("Markets: canonical (ES) or execution (MES) instruments, or all.", valueName: "market"),
        completion: MarketCompletion.marketsOrAll)
    var markets: [String]

    func validate() throws {
        guard !markets.isEmpty else { throw ValidationError("name at least one market, or all") }
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start markets (also out of BLOCKED, FATAL or an operator's stop); wait until they run.")
    @OptionGroup var common: ConfigOptions
    @OptionGroup var target: Markets
    @Flag(name: .long, help: "Print the supervisor's JSON answers, one line each.") var json = false

    func run() throws {
        throw ExitCode(SupervisorClient.change(.start, markets: target.markets, json: json, options: common.location).rawValue)
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop markets; wait until their workers have ended. They stay stopped, across supervisor restarts, until started.")
    @OptionGroup var common: ConfigOptions
    @OptionGroup var target: Markets
    @Flag(name: .long, help: "Print the supervisor's JSON answers, one line each.") var json = false

    func run() throws {
        throw ExitCode(SupervisorClient.change(.stop, markets: target.markets, json: json, options: common.location).rawValue)
    }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop and start markets; wait until the new workers run.")
    @OptionGroup var common: ConfigOptions
    @OptionGroup var target: Markets
    @Flag(name: .long, help: "Print the supervisor's JSON answers, one line each.") var json = false

    func run() throws {
        throw ExitCode(SupervisorClient.change(.restart, markets: target.markets, json: json, options: common.location).rawValue)
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read the configuration: start added markets, stop removed ones.")
    @OptionGroup var common: ConfigOptions
    @Flag(name: .long, help: "Print the supervisor's JSON answer.") var json = false

    func run() throws { throw ExitCode(SupervisorClient.change(.reload, markets: [], json: json, options: common.location).rawValue) }
}

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a market's journal (every event its workers wrote) one readable line per event; -f follows it.",
        discussion: "Exit statuses: 0 shown, 1 the market has no journal yet, 78 configuration error or unknown market.")
    @OptionGroup var common: ConfigOptions
    @Argument(
        help: ArgumentHelp("A canonical (ES) or execution (MES) instrument, any case.", valueName: "market"),
        completion: MarketCompletion.markets)
    var market: String
    @Flag(name: [.customShort("f"), .long], help: "Keep showing new events until interrupted.") var follow = false
    @Option(name: [.customShort("n"), .long], help: "Only the last N events (then follow, with -f).") var lines: Int?
    @Flag(name: .long, help: "The events as the journal holds them (one JSON object a line).") var json = false

    func run() throws {
        switch MarketLogs.run(market: market, lines: lines, follow: follow, json: json, location: common.location) {
        case .shown: return
        case .noJournal(let message):
            SupervisorClient.printError(message)
            throw ExitCode(SupervisorExitStatus.notAllRunning.rawValue)
        case .unknownMarket(let message), .config(let message):
            SupervisorClient.printError(message)
            throw ExitCode(SupervisorExitStatus.config.rawValue)
        }
    }
}

SupervisorCommand.main()
