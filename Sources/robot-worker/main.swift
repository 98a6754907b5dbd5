import ArgumentParser
import OperatorCommands
import RobotConfig
import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// `robot-worker`: one canonical market's executor, and the commands that ask a running one for
/// SIM orders (docs/robot-worker.md).
struct RobotWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robot-worker",
        abstract: "Run one canonical market's executor, or ask a running one for a SIM order.",
        discussion: "Exit statuses of run: 0 stopped, 64 usage, 65 fence file damaged, 73 cannot create the lock or state folder, "
            + "75 started by a supervisor that is already gone, 78 configuration error or unknown market, 100 another executor holds the market (do not restart). "
            + "See docs/robot-worker.md and docs/EXIT-STATUS.md.",
        version: ProgramVersion.line("robot-worker"),
        subcommands: [Run.self, Order.self, Cancel.self, Orders.self, Positions.self],
        defaultSubcommand: Run.self)
}

struct Common: ParsableArguments {
    @Option(
        name: .long, help: "The market: a canonical instrument (ES) or an execution instrument (MES).", completion: MarketCompletion.markets
    )
    var market: String

    @OptionGroup var options: ConfigOptions

    var config: String? { options.config }
    var home: String? { options.home }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the market's executor until SIGTERM (the default command).")

    @OptionGroup var common: Common

    func run() throws {
        let status = Worker.run(
            WorkerOptions(
                symbol: common.market,
                location: common.options.location))
        throw ExitCode(status.rawValue)
    }
}

struct Order: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running worker to place a SIM order and print the outcome.",
        discussion: "Exit statuses: 0 placed, 1 blocked or rejected, 3 the worker is not running, 77 not permitted, 78 configuration error."
    )

    @OptionGroup var common: Common
    @Option(help: "buy or sell.") var side: String
    @Option(help: "Quantity, at least 1.") var qty: Int
    @Option(help: "The stream (default: the market's first).") var stream: String?
    @Option(help: "A limit price (default: a market order, filled at the next tick).") var limit: Double?
    @Flag(name: .long, help: "Print the worker's JSON answer.") var json = false

    func run() throws {
        let request = WorkerRequest(type: "order", side: side, quantity: qty, stream: stream, limit: limit)
        throw ExitCode(WorkerClient.ask(market: common.market, configPath: common.config, home: common.home, request, json: json).rawValue)
    }
}

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running worker to cancel an open SIM order (allowed in every mode).",
        discussion:
            "Exit statuses: 0 cancelled, 1 no such open order, 3 the worker is not running, 77 not permitted, 78 configuration error.")

    @OptionGroup var common: Common
    @Argument(help: "The client order ID (SIM-ES-F7-000001).") var id: String
    @Flag(name: .long, help: "Print the worker's JSON answer.") var json = false

    func run() throws {
        throw ExitCode(
            WorkerClient.ask(
                market: common.market, configPath: common.config, home: common.home, WorkerRequest(type: "cancel", clientOrderID: id),
                json: json
            )
            .rawValue)
    }
}

struct Orders: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the running worker's open orders (sent and accepted).",
        discussion: "Exit statuses: 0 listed, 3 the worker is not running, 78 configuration error.")

    @OptionGroup var common: Common
    @Flag(name: .long, help: "Print the worker's JSON answer.") var json = false

    func run() throws {
        throw ExitCode(
            WorkerClient.ask(
                market: common.market, configPath: common.config, home: common.home, WorkerRequest(type: "orders"), json: json,
                render: OrderTables.orders
            ).rawValue)
    }
}

struct Positions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the running worker's positions (from its venue) and its capital ledger.",
        discussion: "Exit statuses: 0 listed, 3 the worker is not running, 78 configuration error.")

    @OptionGroup var common: Common
    @Flag(name: .long, help: "Print the worker's JSON answer.") var json = false

    func run() throws {
        throw ExitCode(
            WorkerClient.ask(
                market: common.market, configPath: common.config, home: common.home, WorkerRequest(type: "positions"), json: json,
                render: OrderTables.positions
            ).rawValue)
    }
}

RobotWorkerCommand.main()
