#if canImport(Glibc)
import Glibc
#endif

extension StatusReport {
    /// The status document of `state` at `now` (every market, or only `market`): what the
    /// dashboard publishes, the same document as the answer to a `status` request.
    init(state: WatchdogState, configuredMarkets: [String], connections: Int, now: WatchdogInstant, only market: String? = nil) {
        var markets = state.markets
        if let market { markets = markets.filter { $0.key == market } }
        self.init(
            generatedAtUTC: now.utc, watchdogPID: getpid(), configuredMarkets: configuredMarkets, markets: markets,
            rejected: state.rejected, connections: connections, alertHistory: state.alertHistory)
    }
}
