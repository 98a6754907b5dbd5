import RobotConfig

extension StatusReport {
    /// The markets the report answers for: the configured ones and any that sent events.
    public var knownMarkets: [String] { Array(Set(configuredMarkets).union(markets.keys)).sorted() }

    /// The report cut down to the markets `names` select (`MarketSelection`: canonicalised with
    /// `map`, all by default); refuses an unknown name with the list of known ones.
    public func selecting(_ names: [String], map: InstrumentMap) throws(MarketSelection.Refusal) -> StatusReport {
        let selected = try MarketSelection.resolve(names, map: map, known: knownMarkets)
        var out = self
        out.configuredMarkets = selected
        out.markets = markets.filter { selected.contains($0.key) }
        out.alertHistory = alertHistory.filter { selected.contains($0.market) }
        return out
    }
}
