/// The watchdog's alert book beside its markets: the number the next alert gets and the closed
/// and resolved alerts. Raising and closing alerts change it and a market's state together; kept
/// apart from the markets, so `WatchdogState.apply` changes a market in its slot while the rules
/// change this beside it.
struct AlertLedger: Sendable, Equatable {
    /// Closed and resolved alerts, newest last, at most `WatchdogState.maxHistory`.
    var history: [Alert] = []
    /// The number in the next alert's ID (`<market>-<number>`), over all markets.
    var nextNumber: Int64 = 1

    /// Raises `condition` on market `m`: a repeat of an open (or inhibited) alert updates it,
    /// otherwise a new alert opens, inhibited while the market's heartbeat is lost (except the
    /// heartbeat-lost alert itself).
    mutating func raise(
        _ condition: Alert.Condition, in m: inout WatchedMarket, _ now: WatchdogInstant, severity: Alert.Severity, title: String,
        message: String, rootCause: String, action: String, metadata: [String: String]
    ) {
        if let i = m.alerts.firstIndex(where: { $0.condition == condition }) {
            m.alerts[i].occurrences += 1
            m.alerts[i].message = message
            m.alerts[i].metadata = metadata
            return
        }
        if let i = m.inhibitedAlerts.firstIndex(where: { $0.condition == condition }) {
            m.inhibitedAlerts[i].occurrences += 1
            m.inhibitedAlerts[i].message = message
            m.inhibitedAlerts[i].metadata = metadata
            return
        }
        let alert = Alert(
            alertID: "\(m.canonicalInstrument)-\(nextNumber)", market: m.canonicalInstrument, condition: condition, timestamp: now.utc,
            severity: severity, title: title, message: message, rootCause: rootCause, recommendedAction: action, metadata: metadata,
            acknowledged: false, occurrences: 1, resolvedAtUTC: nil)
        nextNumber += 1
        if m.heartbeatState == .lost && condition != .heartbeatLost {
            m.inhibitedAlerts.append(alert)
        } else {
            m.alerts.append(alert)
        }
    }

    /// Resolves `condition` on market `m`: its open and inhibited alerts close.
    mutating func resolve(_ condition: Alert.Condition, in m: inout WatchedMarket, _ now: WatchdogInstant) {
        for i in m.alerts.indices.reversed() where m.alerts[i].condition == condition { close(m.alerts.remove(at: i), now) }
        for i in m.inhibitedAlerts.indices.reversed() where m.inhibitedAlerts[i].condition == condition {
            close(m.inhibitedAlerts.remove(at: i), now)
        }
    }

    /// Puts `alert`, resolved at `now`, in the history (the oldest beyond `maxHistory` go).
    mutating func close(_ alert: Alert, _ now: WatchdogInstant) {
        var a = alert
        a.resolvedAtUTC = now.utc
        history.append(a)
        if history.count > WatchdogState.maxHistory { history.removeFirst(history.count - WatchdogState.maxHistory) }
    }
}
