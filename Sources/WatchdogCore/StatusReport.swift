import Wire

/// The answer to a `status` request, and what `watchdog status --json` prints: the whole state
/// (or one market of it) with the watchdog's own figures.
public struct StatusReport: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "status"
    /// When the report was made (UTC).
    public var generatedAtUTC: String
    public var watchdogPID: Int32
    /// The markets the configuration names, in name order.
    public var configuredMarkets: [String]
    public var markets: [String: WatchedMarket]
    /// Refused lines and connections by reason, over all connections.
    public var rejected: [String: Int64]
    public var connections: Int
    public var alertHistory: [Alert]

    public init(
        generatedAtUTC: String, watchdogPID: Int32, configuredMarkets: [String], markets: [String: WatchedMarket],
        rejected: [String: Int64],
        connections: Int, alertHistory: [Alert]
    ) {
        self.generatedAtUTC = generatedAtUTC
        self.watchdogPID = watchdogPID
        self.configuredMarkets = configuredMarkets
        self.markets = markets
        self.rejected = rejected
        self.connections = connections
        self.alertHistory = alertHistory
    }

    enum CodingKeys: String, CodingKey {
        case v, type, markets, rejected, connections
        case generatedAtUTC = "generated_at_utc"
        case watchdogPID = "watchdog_pid"
        case configuredMarkets = "configured_markets"
        case alertHistory = "alert_history"
    }

    /// True when every configured market (or the one asked about) is present and healthy.
    public func allHealthy(only market: String? = nil) -> Bool {
        let names = market.map { [$0] } ?? configuredMarkets
        return names.allSatisfy { markets[$0]?.isHealthy == true }
    }
}

/// The answer to an `ack` request: what was acknowledged.
/// `{"v":1,"type":"acked","market":"ES","acknowledged":[{…alert…}]}`
public struct AckReport: Codable, Sendable, Equatable {
    /// What became of the market's latch, when it had one.
    public enum LatchOutcome: String, Codable, Sendable {
        /// The worker cleared it and journaled `FAILSAFE_CLEARED`.
        case cleared
        /// No live connection from the market's worker: the latch stays set.
        case notConnected = "not_connected"
        /// The request went to the worker, which did not confirm in time: the latch may stay set.
        case notConfirmed = "not_confirmed"
    }

    public var v: Int64 = WireFormat.version
    public var type = "acked"
    public var market: String
    public var acknowledged: [Alert]
    /// nil when the market had no latch.
    public var latch: LatchOutcome?
    /// One line for the operator about the latch.
    public var latchMessage: String?

    public init(market: String, acknowledged: [Alert], latch: LatchOutcome? = nil, latchMessage: String? = nil) {
        self.market = market
        self.acknowledged = acknowledged
        self.latch = latch
        self.latchMessage = latchMessage
    }

    enum CodingKeys: String, CodingKey {
        case v, type, market, acknowledged, latch
        case latchMessage = "latch_message"
    }
}
