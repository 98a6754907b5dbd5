import IPC

/// The watchdog's whole state and the rules that change it: a pure state machine fed with
/// decoded events, rejections and clock ticks, each with the instant it happened. No I/O: the
/// server (`WatchdogServer`) does sockets, the snapshot file and acks around it.
///
/// Per market and run, events apply at most once, in seq order:
/// ```
///   seq == applied + 1   apply
///   seq <= applied       duplicate: counted, not applied
///   seq >  applied + 1   gap: counted (its size), SEQUENCE_GAP alert, then applied
/// ```
/// An event of a lower fence than the market's high-water mark only counts (`stale_fence`); the
/// first event of a new run below the mark raises a CRITICAL fence regression. Fence 0 (a
/// refused worker) never changes the holder. Heartbeats carry no seq and only refresh liveness.
///
/// Codable: the snapshot is this value as JSON. After loading one, call `restartClocks(at:)`.
public struct WatchdogState: Codable, Sendable, Equatable {
    public var markets: [String: MarketState] = [:]
    /// Every refused line or connection, by reason (all reasons present, zero or not).
    public var rejected: [String: Int64] = Dictionary(uniqueKeysWithValues: RejectionReason.allCases.map { ($0.rawValue, 0) })
    /// Closed and resolved alerts, newest last, at most `maxHistory`.
    public var alertHistory: [Alert] = []
    var nextAlertNumber: Int64 = 1

    public static let maxHistory = 100

    /// What `apply` did with an event, for the server's acks.
    public enum Outcome: Sendable, Equatable {
        case applied(runID: String, seq: Int64)
        case duplicate(runID: String, seq: Int64)
        case heartbeat
        /// A heartbeat of a lower fence than the high-water mark: counted only.
        case staleHeartbeat
    }

    public init(configuredMarkets: [String] = [], now: WatchdogInstant = .now()) {
        for name in configuredMarkets { markets[name] = MarketState(canonicalInstrument: name, now: now.monotonicNanos) }
    }

    enum CodingKeys: String, CodingKey {
        case markets, rejected
        case alertHistory = "alert_history"
        case nextAlertNumber = "next_alert_number"
    }

    /// After a restart: every market's heartbeat clock starts now (a snapshot holds no monotonic
    /// time), and configured markets the snapshot lacks are added.
    public mutating func restartClocks(at now: WatchdogInstant, configuredMarkets: [String]) {
        for name in Array(markets.keys) { markets[name]!.heartbeatReceivedAt = now.monotonicNanos }
        for name in configuredMarkets where markets[name] == nil {
            markets[name] = MarketState(canonicalInstrument: name, now: now.monotonicNanos)
        }
        for reason in RejectionReason.allCases where rejected[reason.rawValue] == nil { rejected[reason.rawValue] = 0 }
    }

    // MARK: events

    /// Applies one event that arrived at `now`. `resumed`: its run is one the worker's hello named
    /// in `resume_runs` (an earlier run re-sent from its journal), so a fence below the mark is
    /// history, not a regression.
    @discardableResult
    public mutating func apply(_ e: Event, now: WatchdogInstant, resumed: Bool = false) -> Outcome {
        // The market's state is swapped out of its slot and back (one hash lookup, no copy): the
        // rules below change it and, through `raise`, the alert history beside it.
        let slot: Dictionary<String, MarketState>.Index
        if let found = markets.index(forKey: e.market) {
            slot = found
        } else {
            markets[e.market] = MarketState(canonicalInstrument: e.market, now: now.monotonicNanos)
            slot = markets.index(forKey: e.market)!
        }
        var m = MarketState.vacant
        swap(&m, &markets.values[slot])
        defer { swap(&m, &markets.values[slot]) }
        return apply(e, to: &m, now: now, resumed: resumed)
    }

    private mutating func apply(_ e: Event, to m: inout MarketState, now: WatchdogInstant, resumed: Bool) -> Outcome {
        if e.isHeartbeat { return heartbeat(e, &m, now) }
        let seq = e.seq ?? 0
        let index = m.runIndex(e.runID)
        let applied = index.map { m.runs[$0].appliedSeq } ?? 0
        if seq <= applied {
            m.counters.duplicates += 1
            return .duplicate(runID: e.runID, seq: seq)
        }
        if seq > applied + 1 {
            let missing = seq - applied - 1
            m.counters.gaps += missing
            raise(
                .sequenceGap, in: &m, now, severity: .warning, title: "\(e.market): events missing from run \(e.runID)",
                message: "run \(e.runID) jumped from seq \(applied) to \(seq): \(missing) event(s) never arrived",
                rootCause: "the worker's journal lost lines, or events were sent without their predecessors",
                action: "compare the worker's journal (state/\(e.market)/events.ndjson) with the watchdog's applied seq; acknowledge once understood",
                metadata: ["run_id": e.runID, "expected_seq": String(applied + 1), "received_seq": String(seq), "missing": String(missing)])
        }
        if let index {
            m.runs[index].appliedSeq = seq
        } else {
            m.runs.append(MarketState.RunRecord(runID: e.runID, appliedSeq: seq, fence: e.fence, pid: e.pid))
            if m.runs.count > MarketState.maxRuns { m.runs.removeFirst(m.runs.count - MarketState.maxRuns) }
        }
        m.counters.events += 1
        if e.fence == 0 {
            m.counters.refusals += 1
            m.lastRefusal = MarketState.Refusal(runID: e.runID, pid: e.pid, ts: e.ts, holderRunID: e.data["holder_run_id"]?.stringValue)
            return .applied(runID: e.runID, seq: seq)
        }
        if e.fence < m.fenceHighWater {
            m.counters.staleFence += 1
            if index == nil, !resumed {
                raise(
                    .fenceRegression, in: &m, now, severity: .critical,
                    title: "\(e.market): a new run arrived with an older fence",
                    message: "run \(e.runID) (pid \(e.pid)) carries fence \(e.fence), below the high-water mark \(m.fenceHighWater)",
                    rootCause: "a second executor, or a lock or fence file restored from an older copy",
                    action: "find the process with `robot-worker` holders of \(e.market) (pid \(e.pid)); stop the one that should not run; acknowledge to accept",
                    metadata: ["run_id": e.runID, "pid": String(e.pid), "fence": String(e.fence), "fence_high_water": String(m.fenceHighWater)])
            }
            return .applied(runID: e.runID, seq: seq)
        }
        m.fenceHighWater = e.fence
        current(e, &m, now)
        return .applied(runID: e.runID, seq: seq)
    }

    private mutating func heartbeat(_ e: Event, _ m: inout MarketState, _ now: WatchdogInstant) -> Outcome {
        guard e.fence > 0, e.fence >= m.fenceHighWater else {
            m.counters.staleFence += 1
            return .staleHeartbeat
        }
        m.fenceHighWater = e.fence
        m.counters.heartbeats += 1
        m.heartbeatReceivedAt = now.monotonicNanos
        m.heartbeatAgeSeconds = 0
        m.lastHeartbeatUTC = e.ts
        if let mode = e.data["mode"]?.stringValue { m.mode = mode }
        setHeartbeatState(.ok, &m, now)
        return .heartbeat
    }

    /// An event of the current holder (fence at the high-water mark).
    private mutating func current(_ e: Event, _ m: inout MarketState, _ now: WatchdogInstant) {
        switch EventType(rawValue: e.type) {
        case .identityInvariantsStatus:
            let pass = e.data["pass"]?.boolValue ?? false
            let violations = e.data["violations"]?.stringArrayValue ?? []
            m.lastIdentityInvariantsPass = pass
            m.lastIdentityViolations = violations
            m.lastIdentityInvariantsEventChicago = ChicagoTime.format(utc: e.ts)
            if let c = e.data["canonical_instrument"]?.stringValue { m.canonicalInstrument = c }
            if let x = e.data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = e.data["stream_ids"]?.stringArrayValue { m.streamIDs = s }
            if pass {
                resolve(.identityViolation, in: &m, now)
            } else {
                raise(
                    .identityViolation, in: &m, now, severity: .critical, title: "\(e.market): identity invariants violated",
                    message: violations.joined(separator: "; "),
                    rootCause: "the market's configuration names a non-canonical stream or instrument",
                    action: "fix markets.\(e.market) in the configuration and send SIGHUP to the worker (pid \(e.pid))",
                    metadata: ["run_id": e.runID, "violations": violations.joined(separator: "; "), "event_ts": e.ts])
            }
        case .canonicalizationSelfTest:
            if let x = e.data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = e.data["canonical_stream_ids"]?.stringArrayValue { m.streamIDs = s }
        case .configReloaded:
            if let x = e.data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = e.data["stream_ids"]?.stringArrayValue { m.streamIDs = s }
        case .lockStale:
            crashed(
                e, &m, now, previousRun: e.data["stale_run_id"]?.stringValue, previousPID: e.data["stale_pid"]?.intValue.map(String.init),
                detail: "the lock record named run \(e.data["stale_run_id"]?.stringValue ?? "unknown") that no longer held the lock")
        case .lockAcquired:
            if let held = m.lock, held.runID != e.runID {
                crashed(
                    e, &m, now, previousRun: held.runID, previousPID: String(held.pid),
                    detail: "run \(held.runID) (pid \(held.pid)) never released the lock")
            }
            m.lock = MarketState.LockHolder(runID: e.runID, pid: e.pid, fence: e.fence, acquiredAtUTC: e.data["acquired_at_utc"]?.stringValue ?? e.ts)
            m.releasedCleanly = false
            if let x = e.data["execution_instrument"]?.stringValue { m.executionInstrument = x }
        case .lockReleased:
            if m.lock?.runID == e.runID || m.lock == nil {
                m.lock = nil
                m.releasedCleanly = true
            }
        case .systemModeChange:
            if let to = e.data["to"]?.stringValue { m.mode = to }
            if let latch = e.data["latch"] {
                m.latch = latch.objectValue.flatMap { o in
                    o["trigger"]?.stringValue.map {
                        MarketState.Latch(
                            trigger: $0, reason: o["reason"]?.stringValue ?? "", latchedAtUTC: o["latched_at_utc"]?.stringValue,
                            runID: o["run_id"]?.stringValue)
                    }
                }
            }
        case .failsafeTriggered:
            let trigger = e.data["trigger"]?.stringValue ?? "UNKNOWN"
            let reason = e.data["reason"]?.stringValue ?? ""
            m.latch = MarketState.Latch(trigger: trigger, reason: reason, latchedAtUTC: e.ts, runID: e.runID)
            raise(
                .failsafeLatched, in: &m, now, severity: .critical, title: "\(e.market): fail-safe \(trigger): the worker latched SHUTDOWN",
                message: reason, rootCause: Self.failsafeCause(trigger),
                action: "find and fix the cause, then clear the latch with `watchdog ack \(e.market)` while the worker is connected",
                metadata: ["run_id": e.runID, "trigger": trigger, "event_ts": e.ts, "open_orders": String(e.data["open_orders"]?.intValue ?? 0)])
        case .startupChecks:
            guard e.data["passed"]?.boolValue == false else { break }
            let failed = (e.data["checks"]?.arrayValue ?? []).compactMap(\.objectValue).filter { $0["passed"]?.boolValue == false }
            let names = failed.compactMap { $0["name"]?.stringValue }
            let details = failed.map { "\($0["name"]?.stringValue ?? "?"): \($0["detail"]?.stringValue ?? "")" }.joined(separator: "; ")
            let integrity = names.contains("event_log_integrity") || names.contains("snapshot_consistency")
            raise(
                integrity ? .integrityViolation : .startupChecksFailed, in: &m, now, severity: .critical,
                title: "\(e.market): startup checks failed (\(names.joined(separator: ", "))): the worker holds OBSERVE_ONLY",
                message: details,
                rootCause: integrity
                    ? "the worker's journal or snapshot is damaged (moved aside as *.damaged-\(e.runID) in its state folder)"
                    : "a startup check failed: \(names.joined(separator: ", "))",
                action: "inspect the worker's state folder and log, then clear the latch with `watchdog ack \(e.market)` while the worker is connected",
                metadata: ["run_id": e.runID, "failed_checks": names.joined(separator: ","), "event_ts": e.ts])
        case .failsafeCleared:
            m.latch = nil
            m.lastLatchCleared = MarketState.LatchClearance(
                trigger: e.data["trigger"]?.stringValue ?? "", by: e.data["cleared_by"]?.stringValue ?? "", atUTC: e.ts)
            for condition in Alert.Condition.latches { resolve(condition, in: &m, now) }
        case .healthStatus:
            m.health = MarketState.Health(
                healthy: e.data["healthy"]?.boolValue ?? false, reasons: e.data["reasons"]?.stringArrayValue ?? [], atUTC: e.ts)
        case .orderPlaced:
            if let id = e.data["client_order_id"]?.stringValue {
                m.openOrders.removeAll { $0.clientOrderID == id }
                m.openOrders.append(
                    MarketState.Order(
                        clientOrderID: id, stream: e.data["stream"]?.stringValue ?? "", symbol: e.data["symbol"]?.stringValue ?? "",
                        side: e.data["side"]?.stringValue ?? "", quantity: e.data["quantity"]?.intValue ?? 0,
                        limit: e.data["limit"]?.doubleValue, placedAtUTC: e.ts))
            }
        case .orderFilled, .orderCancelled, .orderTimeout:
            if let id = e.data["client_order_id"]?.stringValue { m.openOrders.removeAll { $0.clientOrderID == id } }
        default:
            // Routine events (orders blocked, feed status, reloads) change nothing and raise nothing.
            break
        }
    }

    static func failsafeCause(_ trigger: String) -> String {
        switch trigger {
        case "MARKET_DATA_STALLED": return "the market-data feed delivered nothing for longer than safety.market_data_stalled_seconds"
        case "EVENT_LOG_FAILING": return "journal writes failed for longer than safety.event_log_failing_seconds (disk full or read-only?)"
        case "NO_SNAPSHOT": return "the worker could not write its snapshot for longer than safety.no_snapshot_seconds"
        case "HEALTH_FAILING": return "the worker stayed unhealthy for longer than safety.health_failing_seconds"
        default: return "an unrecoverable error in the worker"
        }
    }

    private mutating func crashed(
        _ e: Event, _ m: inout MarketState, _ now: WatchdogInstant, previousRun: String?, previousPID: String?, detail: String
    ) {
        raise(
            .holderCrashed, in: &m, now, severity: .warning, title: "\(e.market): the previous lock holder ended without releasing",
            message: "run \(e.runID) (pid \(e.pid)) took over at fence \(e.fence): \(detail)",
            rootCause: "the previous worker crashed or was killed",
            action: "read the previous worker's log for why it ended; acknowledge once understood",
            metadata: ["new_run_id": e.runID, "previous_run_id": previousRun ?? "unknown", "previous_pid": previousPID ?? "unknown", "fence": String(e.fence)])
    }

    // MARK: clock

    /// Re-evaluates every market's heartbeat at `now`: OK -> LATE -> LOST, with the LOST alert.
    /// Returns true when a market's heartbeat state changed.
    @discardableResult
    public mutating func tick(now: WatchdogInstant, policy: HeartbeatPolicy) -> Bool {
        var changed = false
        for name in Array(markets.keys) {
            var m = markets.removeValue(forKey: name)!
            let age = max(0, now.monotonicNanos - m.heartbeatReceivedAt)
            m.heartbeatAgeSeconds = Double(age) / 1e9
            let state = policy.state(ageNanos: age)
            if state != m.heartbeatState {
                changed = true
                setHeartbeatState(state, &m, now)
            }
            markets[name] = m
        }
        return changed
    }

    private mutating func setHeartbeatState(_ state: HeartbeatState, _ m: inout MarketState, _ now: WatchdogInstant) {
        let was = m.heartbeatState
        guard state != was else { return }
        m.heartbeatState = state
        if state == .lost {
            m.inhibitedAlerts += m.alerts
            m.alerts = []
            if let last = m.lastHeartbeatUTC, !m.releasedCleanly {
                raise(
                    .heartbeatLost, in: &m, now, severity: .critical, title: "\(m.canonicalInstrument): heartbeat lost",
                    message: "no heartbeat for \(formatSeconds(m.heartbeatAgeSeconds)) s; the last one was stamped \(last)",
                    rootCause: "the worker is stopped, hung, dead or cut off from the watchdog",
                    action: "check the worker of \(m.canonicalInstrument) (`supervisor status`, its log); restart it if it is hung",
                    metadata: [
                        "last_heartbeat_utc": last, "holder_run_id": m.lock?.runID ?? "none",
                        "holder_pid": m.lock.map { String($0.pid) } ?? "none",
                    ])
            }
        } else if was == .lost {
            resolve(.heartbeatLost, in: &m, now)
            m.alerts += m.inhibitedAlerts
            m.inhibitedAlerts = []
        }
    }

    // MARK: alerts

    private mutating func raise(
        _ condition: Alert.Condition, in m: inout MarketState, _ now: WatchdogInstant, severity: Alert.Severity, title: String,
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
            alertID: "\(m.canonicalInstrument)-\(nextAlertNumber)", market: m.canonicalInstrument, condition: condition, timestamp: now.utc,
            severity: severity, title: title, message: message, rootCause: rootCause, recommendedAction: action, metadata: metadata,
            acknowledged: false, occurrences: 1, resolvedAtUTC: nil)
        nextAlertNumber += 1
        if m.heartbeatState == .lost && condition != .heartbeatLost {
            m.inhibitedAlerts.append(alert)
        } else {
            m.alerts.append(alert)
        }
    }

    private mutating func resolve(_ condition: Alert.Condition, in m: inout MarketState, _ now: WatchdogInstant) {
        for i in m.alerts.indices.reversed() where m.alerts[i].condition == condition { close(m.alerts.remove(at: i), now) }
        for i in m.inhibitedAlerts.indices.reversed() where m.inhibitedAlerts[i].condition == condition {
            close(m.inhibitedAlerts.remove(at: i), now)
        }
    }

    private mutating func close(_ alert: Alert, _ now: WatchdogInstant) {
        var a = alert
        a.resolvedAtUTC = now.utc
        alertHistory.append(a)
        if alertHistory.count > Self.maxHistory { alertHistory.removeFirst(alertHistory.count - Self.maxHistory) }
    }

    /// Acknowledges the open alerts of `market` (all of them, or the one named `alertID`).
    /// Incidents close; conditions stay open, acknowledged, until they end. Returns the
    /// acknowledged alerts (empty when none matched).
    public mutating func acknowledge(market: String, alertID: String?, now: WatchdogInstant) -> [Alert] {
        guard var m = markets[market] else { return [] }
        var done: [Alert] = []
        func ack(_ list: inout [Alert]) {
            for i in list.indices.reversed() where alertID == nil || list[i].alertID == alertID {
                list[i].acknowledged = true
                done.append(list[i])
                if list[i].condition.closesOnAcknowledgement { close(list.remove(at: i), now) }
            }
        }
        ack(&m.alerts)
        ack(&m.inhibitedAlerts)
        markets[market] = m
        return done.reversed()
    }

    // MARK: rejections

    /// Counts a refused line or connection, globally and under `market` when it is known.
    public mutating func countRejection(_ reason: RejectionReason, market: String?) {
        rejected[reason.rawValue, default: 0] += 1
        if let market, markets[market] != nil {
            markets[market]!.counters.rejected[reason.rawValue, default: 0] += 1
        }
    }

    /// Applied seq of every run of `market`, as the welcome reports them.
    public func applied(market: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for r in markets[market]?.runs ?? [] { out[r.runID] = r.appliedSeq }
        return out
    }

    /// How many alerts are open (acknowledged or not, inhibited included), over all markets.
    public var openAlertCount: Int { markets.values.reduce(0) { $0 + $1.alerts.count + $1.inhibitedAlerts.count } }
}

func formatSeconds(_ s: Double) -> String { String(Double(Int(s * 10)) / 10) }
