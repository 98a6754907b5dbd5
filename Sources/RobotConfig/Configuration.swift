import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The validated configuration every executable runs on (docs/CONFIG.md).
public struct Configuration: Sendable, Equatable {
    /// Where it was read from: a path, or `DefaultConfiguration.name`.
    public var source: String
    /// The folder relative paths were resolved against (`--home`, `$ROBOT_HOME`, or the current folder).
    public var home: String
    /// The trading account (or deployment) the executors act for (`account`, default `default`):
    /// one executor per (account, canonical market) on the host (docs/RELIABILITY.md).
    public var account: TradingAccount = .default
    public var instrumentMap: InstrumentMap
    /// Canonical instrument -> its market.
    public var markets: [String: MarketSpec]
    public var timings: Timings
    public var paths: Paths
    public var worker: WorkerSettings
    public var watchdog: WatchdogSettings
    public var supervisor: SupervisorSettings
    public var safety: SafetySettings
    /// Where each process serves `/metrics`; off by default.
    public var metrics = MetricsSettings()
    /// The watchdog's live status page; off when the section is absent.
    public var dashboard = DashboardSettings()
    /// Where the watchdog pushes alerts besides the journal; off by default.
    public var alerting = AlertingSettings()
    /// What keeps one executor per market: the host's flock alone, or a lease in PostgreSQL too.
    public var guardSettings = GuardSettings()
    /// Where each market's orders go (the SIM or the paper venue), the capital ledger, reconciliation.
    public var venue: VenueSettings

    /// The markets in name order.
    public var marketNames: [String] { markets.keys.sorted() }

    /// The absolute path of the file this configuration came from (a relative source taken against
    /// the current folder), nil for the embedded default: what a child process is handed.
    public var absoluteSourcePath: String? {
        guard source != DefaultConfiguration.name else { return nil }
        if source.hasPrefix("/") { return source }
        guard let cwd = getcwd(nil, 0) else { return source }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + source
    }
}

/// One canonical market: what its worker runs.
public struct MarketSpec: Sendable, Equatable {
    public var canonical: String
    /// The default execution instrument (a worker started as `--market MES` uses MES instead).
    /// May be empty: the identity invariants then report it missing.
    public var execution: String
    /// Ordered by id.
    public var streams: [StreamSpec]
    /// Where its market data comes from.
    public var feed: FeedSpec = .default
    /// The strategy process the worker runs once it holds the market (`strategy`); nil: none.
    public var strategy: StrategySpec? = nil
}

public struct StreamSpec: Sendable, Equatable {
    public var id: String
    public var instrument: String
}

/// Intervals and thresholds, in seconds unless named otherwise.
public struct Timings: Sendable, Equatable {
    public var heartbeatInterval: Double
    public var invariantsInterval: Double
    /// A market is LATE after this many heartbeat intervals without one.
    public var heartbeatLateIntervals: Double
    /// A market is LOST after this long without a heartbeat.
    public var heartbeatLost: Double
}

/// Absolute paths of the folders the stack uses.
public struct Paths: Sendable, Equatable {
    public var lockDir: String
    public var stateDir: String
    public var socketDir: String
    /// `paths.allow_network_lock_dir`: accept a lock folder on a network or FUSE file system.
    public var allowNetworkLockDir = false

    // The lock and fence files in `lockDir` are named by the market guard (Guard.FlockMarketGuard).
    /// The state folder of one market (journal, snapshot).
    public func marketStateDir(_ market: CanonicalMarket) -> String { stateDir + "/\(market.name)" }
    /// The journal of one market.
    public func journal(_ market: CanonicalMarket) -> String { marketStateDir(market) + "/events.ndjson" }
    /// A worker's snapshot: mode, fail-safe latch, orders, positions.
    public func snapshot(_ market: CanonicalMarket) -> String { marketStateDir(market) + "/snapshot.json" }
    /// A worker's control socket (SIM orders and cancels).
    public func workerSocket(_ market: CanonicalMarket) -> String { socketDir + "/worker-\(market.name).sock" }
    /// The watchdog's socket: events, status and acknowledgements.
    public var watchdogSocket: String { socketDir + "/watchdog.sock" }
}
