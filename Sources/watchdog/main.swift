import ArgumentParser
import Foundation
import OperatorCommands
import RobotConfig
import WatchdogCore

/// `watchdog`: ingestion, state, alerts and status of every market on this host (docs/watchdog.md).
struct WatchdogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog",
        abstract: "Ingest the workers' events, track heartbeats, identity, locks and alerts, answer status queries.",
        discussion:
            "Exit statuses: 0 ok/healthy, 1 unhealthy or nothing acknowledged, 3 watchdog not running, 4 status: unknown market, 64 usage, "
            + "65 damaged snapshot, 70 unexpected answer, 71 system error, 73 cannot create folders, 77 not permitted, "
            + "78 configuration error, 100 another watchdog serves the socket. See docs/watchdog.md and docs/EXIT-STATUS.md.",
        version: ProgramVersion.line("watchdog"),
        subcommands: [Run.self, Status.self, Acknowledge.self])
}

/// The options every subcommand takes to find the configuration.
struct Location: ParsableArguments {
    @OptionGroup var options: ConfigOptions

    var config: String? { options.config }
    var home: String? { options.home }

    /// The configuration; exits 78 on a configuration error.
    func load() throws -> Configuration {
        do {
            return try options.location.load()
        } catch {
            FileHandle.standardError.write(Data("watchdog: \(error)\n".utf8))
            throw ExitCode(WatchdogExitStatus.config.rawValue)
        }
    }
}

extension WatchdogCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the watchdog until SIGTERM or SIGINT.")
        @OptionGroup var location: Location

        func run() throws {
            let status = WatchdogServer.run(location.options.location)
            throw ExitCode(status.rawValue)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show the markets (all, or those named); exit 0 only when all shown are healthy, 1 otherwise, 3 when the watchdog is not running, 4 for an unknown market."
        )
        @Argument(
            help: ArgumentHelp("Markets: canonical (ES) or execution (MES) instruments, any case (default: all).", valueName: "market"),
            completion: MarketCompletion.markets)
        var markets: [String] = []
        @Flag(name: .long, help: "Print the full state as JSON.") var json = false
        @Flag(name: .long, help: "Show it again every --interval seconds until interrupted (redrawn in place on a terminal).") var watch =
            false
        @Option(name: .long, help: "Seconds between --watch rounds.") var interval: Double = 2
        @OptionGroup var location: Location

        func validate() throws {
            guard interval >= 0.1, interval <= 3600 else {
                throw ValidationError("--interval: expected 0.1 to 3600 seconds, got \(interval)")
            }
        }

        func run() throws {
            let config = try location.load()
            let colour = isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            guard watch else {
                let answer = Self.answer(markets, json: json, colour: colour, config: config)
                if let text = answer.text { FileHandle.standardOutput.write(Data(text.utf8)) }
                if let error = answer.error { FileHandle.standardError.write(Data("watchdog: \(error)\n".utf8)) }
                throw ExitCode(answer.status.rawValue)
            }
            StatusWatch.run(interval: interval) {
                let answer = Self.answer(markets, json: json, colour: colour, config: config)
                return ((answer.text ?? "").dropLastNewline, answer.error.map { "watchdog: " + $0 })
            }
        }

        /// What one `status` prints (stdout text, stderr line) and its exit status.
        static func answer(_ markets: [String], json: Bool, colour: Bool, config: Configuration) -> (
            text: String?, error: String?, status: WatchdogExitStatus
        ) {
            let client = OperatorClient(socketPath: config.paths.watchdogSocket)
            let full: StatusReport
            do { full = try client.status(market: nil) } catch {
                return (nil, error.description + "; configuration: \(config.source)", error.status)
            }
            let report: StatusReport
            do { report = try full.selecting(markets, map: config.instrumentMap) } catch {
                return (nil, "\(error)", .unknownMarket)
            }
            let status: WatchdogExitStatus = report.allHealthy() ? .ok : .unhealthy
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                let data = (try? encoder.encode(markets.isEmpty ? full : report)) ?? Data("{}".utf8)
                return (String(decoding: data, as: UTF8.self) + "\n", nil, status)
            }
            return ("configuration: \(config.source)\n" + StatusTable(colour: colour).render(report), nil, status)
        }
    }

    struct Acknowledge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack", abstract: "Acknowledge a market's open alerts (or one of them); only root and the watchdog's user may.")
        @Argument(help: "The canonical market.", completion: MarketCompletion.markets) var market: String
        @Argument(help: "One alert id (default: every open alert of the market).") var alertID: String?
        @Flag(name: .long, help: "Print the watchdog's JSON answer.") var json = false
        @OptionGroup var location: Location

        func run() throws {
            let client = OperatorClient(socketPath: try location.load().paths.watchdogSocket)
            let report: AckReport
            do { report = try client.acknowledge(market: market, alertID: alertID) } catch {
                FileHandle.standardError.write(Data("watchdog: \(error.description)\n".utf8))
                throw ExitCode(error.status.rawValue)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                FileHandle.standardOutput.write(((try? encoder.encode(report)) ?? Data("{}".utf8)) + Data("\n".utf8))
            }
            for a in report.acknowledged where !json {
                print("acknowledged \(a.alertID) \(a.severity.rawValue) \(a.condition.rawValue): \(a.title)")
            }
            if let message = report.latchMessage, !json { print(message) }
            if let latch = report.latch, latch != .cleared { throw ExitCode(WatchdogExitStatus.unhealthy.rawValue) }
            if report.acknowledged.isEmpty, report.latch == nil {
                if !json { print("\(market): no open alert\(alertID.map { " \($0)" } ?? "") to acknowledge") }
                throw ExitCode(WatchdogExitStatus.unhealthy.rawValue)
            }
        }
    }
}

extension String {
    /// Without one trailing newline (the watch adds its own).
    var dropLastNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}

WatchdogCommand.main()
