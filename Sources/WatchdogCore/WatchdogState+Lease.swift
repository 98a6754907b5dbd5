import Wire

extension WatchdogState {
    /// A `LEASE_STATUS`: the market's lease as its worker sees it, and one alert per market while
    /// the worker's lease database does not answer (docs/watchdog.md, docs/MULTIHOST.md).
    static func lease(_ e: Event, _ data: JSONObject, _ m: inout WatchedMarket, _ ledger: inout AlertLedger, _ now: WatchdogInstant) {
        guard let view = LeaseView(data, previous: m.lease) else { return }
        m.lease = view
        switch view.databaseReachable {
        case false?:
            ledger.raise(
                .leaseDatabaseUnreachable, in: &m, now, severity: .critical,
                title: "\(e.market): the lease database does not answer",
                message:
                    "run \(e.runID) (pid \(e.pid)): \(data["database_error"]?.stringValue ?? view.reason ?? "no answer"); no host trades \(e.market)",
                rootCause: "the PostgreSQL server of guard.url is down, unreachable from this host, or refuses the worker",
                action:
                    "restore the database or the network to it (\(data["database"]?.stringValue ?? "guard.url")); the market is taken again by one host when it answers",
                metadata: ["run_id": e.runID, "state": view.state, "database": data["database"]?.stringValue ?? ""])
        case true?:
            ledger.resolve(.leaseDatabaseUnreachable, in: &m, now)
        case nil:
            break
        }
    }
}
