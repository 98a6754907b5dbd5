import ArgumentParser
import Foundation
import RobotConfig
import WatchdogCore

/// `watchdog`: ingestion, state, alerts and status of every market on this host (docs/watchdog.md).
struct WatchdogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watchdog",
        abstract: "Ingest the workers' events, track heartbeats, identity, locks and alerts, answer status queries.",
        discussion: "Exit statuses: 0 ok/healthy, 1 unhealthy or nothing acknowledged, 3 watchdog not running, 64 usage, "
            + "65 damaged snapshot, 70 unexpected answer, 71 system error, 73 cannot create folders, 77 not permitted, "
            + "78 configuration error, 100 another watchdog serves the socket. See docs/watchdog.md and docs/EXIT-STATUS.md.",
        subcommands: [Run.self, Status.self, Acknowledge.self])
}

/// The options every subcommand takes to find the configuration.
struct Location: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: $ROBOT_CONFIG, else the embedded default).")
    var config: String?

    @Option(name: .long, help: "The folder relative paths resolve against (default: $ROBOT_HOME, else the current folder).")
    var home: String?

    /// The watchdog's socket path from the configuration; exits 78 on a configuration error.
    func socketPath() throws -> String {
        do {
            return try ConfigLoader.load(configPath: config, home: home, environment: ProcessInfoEnvironment.current()).paths.watchdogSocket
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
            let status = WatchdogServer.run(
                WatchdogOptions(configPath: location.config, home: location.home, environment: ProcessInfoEnvironment.current()))
            throw ExitCode(status.rawValue)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every market (or one); exit 0 only when all are healthy, 1 otherwise, 3 when the watchdog is not running.")
        @Argument(help: "One canonical market (default: all).") var market: String?
        @Flag(name: .long, help: "Print the full state as JSON.") var json = false
        @OptionGroup var location: Location

        func run() throws {
            let client = OperatorClient(socketPath: try location.socketPath())
            let report: StatusReport
            do { report = try client.status(market: market) } catch {
                FileHandle.standardError.write(Data("watchdog: \(error.description)\n".utf8))
                throw ExitCode(error.status.rawValue)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
            } else {
                let colour = isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
                FileHandle.standardOutput.write(Data(StatusTable(colour: colour).render(report, only: market).utf8))
            }
            throw ExitCode(report.allHealthy(only: market) ? WatchdogExitStatus.ok.rawValue : WatchdogExitStatus.unhealthy.rawValue)
        }
    }

    struct Acknowledge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack", abstract: "Acknowledge a market's open alerts (or one of them); only root and the watchdog's user may.")
        @Argument(help: "The canonical market.") var market: String
        @Argument(help: "One alert id (default: every open alert of the market).") var alertID: String?
        @OptionGroup var location: Location

        func run() throws {
            let client = OperatorClient(socketPath: try location.socketPath())
            let report: AckReport
            do { report = try client.acknowledge(market: market, alertID: alertID) } catch {
                FileHandle.standardError.write(Data("watchdog: \(error.description)\n".utf8))
                throw ExitCode(error.status.rawValue)
            }
            for a in report.acknowledged {
                print("acknowledged \(a.alertID) \(a.severity.rawValue) \(a.condition.rawValue): \(a.title)")
            }
            if let message = report.latchMessage { print(message) }
            if let latch = report.latch, latch != .cleared { throw ExitCode(WatchdogExitStatus.unhealthy.rawValue) }
            if report.acknowledged.isEmpty, report.latch == nil {
                print("\(market): no open alert\(alertID.map { " \($0)" } ?? "") to acknowledge")
                throw ExitCode(WatchdogExitStatus.unhealthy.rawValue)
            }
        }
    }
}

WatchdogCommand.main()
