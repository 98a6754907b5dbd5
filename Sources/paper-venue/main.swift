import ArgumentParser
import OperatorCommands
import RobotConfig
import VenueCore
import WorkerCore

/// `paper-venue`: the paper execution venue workers reach over the venue socket (docs/paper-venue.md).
struct PaperVenueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper-venue",
        abstract: "Run the paper execution venue: orders by client order ID, fills at its feed's prices, positions, fences.",
        discussion:
            "Exit statuses: 0 stopped, 64 usage, 71 cannot listen, 73 cannot open its state folder, 74 its journal cannot be written, "
            + "78 configuration error. See docs/paper-venue.md.",
        version: ProgramVersion.line("paper-venue"),
        subcommands: [Run.self],
        defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve until SIGTERM or SIGINT (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        throw ExitCode(PaperVenue.run(location: options.location, feeds: Self.feeds))
    }

    /// Each market's synthetic feed, as its worker builds it (the same seed, start price and tick
    /// size: the same random walk); markets with a file or socket feed get no fills here.
    static func feeds(_ config: Configuration) -> [PaperVenue.Feed] {
        config.markets.values.sorted { $0.canonical < $1.canonical }.compactMap { spec -> PaperVenue.Feed? in
            guard case .synthetic(let rate, let seed, let start, let tickSize) = spec.feed else { return nil }
            let walk = SyntheticWalk(
                SyntheticFeed(
                    instrument: spec.execution.isEmpty ? spec.canonical : spec.execution, seed: seed, startPrice: start, tickSize: tickSize)
            )
            return (spec.canonical, 1 / rate, { walk.next($0) })
        }
    }
}

/// A synthetic feed the venue's timer advances.
final class SyntheticWalk {
    private var feed: SyntheticFeed
    init(_ feed: SyntheticFeed) { self.feed = feed }
    func next(_ timeUTC: String) -> Double { feed.next(timeUTC: timeUTC).price }
}

PaperVenueCommand.main()
