import Wire

/// The heartbeat clock of `WatchdogState`: each market's heartbeat age against the policy, OK ->
/// LATE -> LOST, with the LOST alert (and the market's other alerts held back while it is lost).
extension WatchdogState {
    /// Re-evaluates every market's heartbeat at `now`: OK -> LATE -> LOST, with the LOST alert.
    /// Returns true when a market's heartbeat state changed.
    @discardableResult
    public mutating func tick(now: WatchdogInstant, policy: HeartbeatPolicy) -> Bool {
        var changed = false
        // Each market in its slot: changing a value leaves the dictionary's indices valid.
        var slot = markets.startIndex
        while slot != markets.endIndex {
            if Self.tick(&markets.values[slot], &ledger, now: now, policy: policy) { changed = true }
            markets.formIndex(after: &slot)
        }
        return changed
    }

    static func tick(_ m: inout WatchedMarket, _ ledger: inout AlertLedger, now: WatchdogInstant, policy: HeartbeatPolicy) -> Bool {
        let age = max(0, now.monotonicNanos - m.heartbeatReceivedAt)
        m.heartbeatAgeSeconds = Double(age) / 1e9
        let state = policy.state(ageNanos: age)
        guard state != m.heartbeatState else { return false }
        setHeartbeatState(state, &m, &ledger, now)
        return true
    }

    static func setHeartbeatState(
        _ state: HeartbeatState, _ m: inout WatchedMarket, _ ledger: inout AlertLedger, _ now: WatchdogInstant
    ) {
        let was = m.heartbeatState
        guard state != was else { return }
        m.heartbeatState = state
        if state == .lost {
            m.inhibitedAlerts += m.alerts
            m.alerts = []
            if let last = m.lastHeartbeatUTC, !m.releasedCleanly {
                ledger.raise(
                    .heartbeatLost, in: &m, now, severity: .critical, title: "\(m.canonicalInstrument): heartbeat lost",
                    message: "no heartbeat for \(SecondsText.tenths(m.heartbeatAgeSeconds)) s; the last one was stamped \(last)",
                    rootCause: "the worker is stopped, hung, dead or cut off from the watchdog",
                    action: "check the worker of \(m.canonicalInstrument) (`supervisor status`, its log); restart it if it is hung",
                    metadata: [
                        "last_heartbeat_utc": last, "holder_run_id": m.lock?.runID ?? "none",
                        "holder_pid": m.lock.map { String($0.pid) } ?? "none",
                    ])
            }
        } else if was == .lost {
            ledger.resolve(.heartbeatLost, in: &m, now)
            m.alerts += m.inhibitedAlerts
            m.inhibitedAlerts = []
        }
    }
}
