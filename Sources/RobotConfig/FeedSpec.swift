/// Where a market's engine gets its market data (`markets.M.feed`, docs/CONFIG.md).
public enum FeedSpec: Sendable, Equatable {
    /// A seeded random walk per instrument, for the demo and tests.
    case synthetic(ratePerSecond: Double, seed: UInt64, startPrice: Double, tickSize: Double)
    /// NDJSON ticks appended to a file (read as they arrive, like `tail -f`).
    case file(path: String)
    /// NDJSON ticks read from a Unix stream socket the worker connects to (reconnecting when it closes).
    case socket(path: String)

    /// A price to reserve market orders at before the first tick: the synthetic walk's start, else 0.
    public var referencePrice: Double {
        if case .synthetic(_, _, let start, _) = self { return start }
        return 0
    }

    public static let `default` = FeedSpec.synthetic(ratePerSecond: 4, seed: 1, startPrice: 5000, tickSize: 0.25)

    static func parse(_ market: inout ConfigReader, home: String) throws(ConfigError) -> FeedSpec {
        guard var r = try market.optionalObject("feed") else { return .default }
        let kind = try r.optionalString("kind", default: "synthetic")
        switch kind {
        case "synthetic":
            let rate = try r.number("rate_per_second", default: 4, in: 0.01...10_000)
            let seed = try r.integer("seed", default: 1, in: 0...Int.max)
            let start = try r.number("start_price", default: 5000, in: 0.000001...1e12)
            let tick = try r.number("tick_size", default: 0.25, in: 0.000001...1e6)
            try r.rejectUnknownKeys(["kind", "rate_per_second", "seed", "start_price", "tick_size"])
            return .synthetic(ratePerSecond: rate, seed: UInt64(seed), startPrice: start, tickSize: tick)
        case "file", "socket":
            let raw = try r.string("path")
            guard !raw.isEmpty else { throw r.error("path", .string(raw), "expected a path") }
            let path = ConfigLoader.normalize(raw.hasPrefix("/") ? raw : home + "/" + raw)
            try r.rejectUnknownKeys(["kind", "path"])
            return kind == "file" ? .file(path: path) : .socket(path: path)
        default:
            throw r.error("kind", .string(kind), "expected \"synthetic\", \"file\" or \"socket\"")
        }
    }
}
