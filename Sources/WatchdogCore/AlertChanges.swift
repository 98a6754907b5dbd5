/// Finds the alerts raised and resolved since it last looked at the watchdog's state: a pure
/// observer beside `WatchdogState`, so the rules that raise and close alerts stay unchanged.
///
/// An alert is open while it is in a market's `alerts` or `inhibited_alerts` (an inhibited alert
/// is a real condition, held back in `status` while its market's heartbeat is lost, and announced
/// like any other); it is raised when its ID first shows there and resolved when its ID leaves
/// (resolved by its condition ending, or closed by an acknowledgement). `notices` costs one
/// comparison when no alert was raised or closed since the last call (a new alert takes the next
/// number; a closed one goes to the end of the history, and alert IDs are never reused), so the
/// server may call it after every state change, on the event path.
struct AlertChanges {
    private struct Fingerprint: Equatable {
        var nextNumber: Int64
        var closedCount: Int
        var lastClosedID: String?
    }

    private var fingerprint: Fingerprint
    /// The open alerts as of the last call, by ID.
    private(set) var open: [String: Alert]

    /// Starts from `state` as it is: its open alerts count as already announced (a restarted
    /// watchdog does not announce again what its previous run did).
    init(_ state: WatchdogState) {
        fingerprint = Self.fingerprint(state)
        open = Self.openAlerts(state)
    }

    /// The alerts raised and resolved since the last call: resolved first, then raised, each in
    /// the order they were raised.
    mutating func notices(_ state: WatchdogState) -> [AlertNotice] {
        let f = Self.fingerprint(state)
        guard f != fingerprint else { return [] }
        fingerprint = f
        let now = Self.openAlerts(state)
        var out: [AlertNotice] = []
        for (id, alert) in open.sorted(by: { Self.order($0.value, $1.value) }) where now[id] == nil {
            var closed = state.alertHistory.last { $0.alertID == id } ?? alert
            if closed.resolvedAtUTC == nil { closed.resolvedAtUTC = closed.timestamp }
            out.append(AlertNotice(status: .resolved, alert: closed))
        }
        for (id, alert) in now.sorted(by: { Self.order($0.value, $1.value) }) where open[id] == nil {
            out.append(AlertNotice(status: .firing, alert: alert))
        }
        open = now
        return out
    }

    private static func fingerprint(_ state: WatchdogState) -> Fingerprint {
        let history = state.ledger.history
        return Fingerprint(nextNumber: state.ledger.nextNumber, closedCount: history.count, lastClosedID: history.last?.alertID)
    }

    private static func openAlerts(_ state: WatchdogState) -> [String: Alert] {
        var out: [String: Alert] = [:]
        for m in state.markets.values {
            for a in m.alerts { out[a.alertID] = a }
            for a in m.inhibitedAlerts { out[a.alertID] = a }
        }
        return out
    }

    /// Raised order: the time, then the number in the ID.
    private static func order(_ a: Alert, _ b: Alert) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
        return a.alertID.count != b.alertID.count ? a.alertID.count < b.alertID.count : a.alertID < b.alertID
    }
}
