import Wire

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
    public var markets: [String: WatchedMarket] = [:]
    /// Every refused line or connection, by reason (all reasons present, zero or not).
    public var rejected: [String: Int64] = Dictionary(uniqueKeysWithValues: RejectionReason.allCases.map { ($0.rawValue, 0) })
    /// The alert history and numbering, which the rules change beside a market (see `apply`).
    var ledger = AlertLedger()

    /// Closed and resolved alerts, newest last, at most `maxHistory`.
    public var alertHistory: [Alert] {
        get { ledger.history }
        set { ledger.history = newValue }
    }
    var nextAlertNumber: Int64 {
        get { ledger.nextNumber }
        set { ledger.nextNumber = newValue }
    }

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
        for name in configuredMarkets { markets[name] = WatchedMarket(canonicalInstrument: name, now: now.monotonicNanos) }
    }

    enum CodingKeys: String, CodingKey {
        case markets, rejected
        case alertHistory = "alert_history"
        case nextAlertNumber = "next_alert_number"
    }

    /// The snapshot's four keys, all required (the ledger's two fields are keys of their own).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        markets = try c.decode([String: WatchedMarket].self, forKey: .markets)
        rejected = try c.decode([String: Int64].self, forKey: .rejected)
        ledger = AlertLedger(
            history: try c.decode([Alert].self, forKey: .alertHistory),
            nextNumber: try c.decode(Int64.self, forKey: .nextAlertNumber))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(markets, forKey: .markets)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(ledger.history, forKey: .alertHistory)
        try c.encode(ledger.nextNumber, forKey: .nextAlertNumber)
    }

    /// After a restart: every market's heartbeat clock starts now (a snapshot holds no monotonic
    /// time), and configured markets the snapshot lacks are added.
    public mutating func restartClocks(at now: WatchdogInstant, configuredMarkets: [String]) {
        for name in Array(markets.keys) { markets[name]!.heartbeatReceivedAt = now.monotonicNanos }
        for name in configuredMarkets where markets[name] == nil {
            markets[name] = WatchedMarket(canonicalInstrument: name, now: now.monotonicNanos)
        }
        for reason in RejectionReason.allCases where rejected[reason.rawValue] == nil { rejected[reason.rawValue] = 0 }
    }

    // MARK: events

    /// Applies one event that arrived at `now`. `resumed`: its run is one the worker's hello named
    /// in `resume_runs` (an earlier run re-sent from its journal), so a fence below the mark is
    /// history, not a regression.
    @discardableResult
    public mutating func apply(_ e: Event, now: WatchdogInstant, resumed: Bool = false) -> Outcome {
        // The rules change the market's state in its slot (one hash lookup, no copy; a market not
        // seen before is added) and the alert ledger beside it: two stored properties, so the two
        // accesses do not overlap.
        let market = e.market
        return Self.apply(
            e, to: &markets[market, default: WatchedMarket(canonicalInstrument: market, now: now.monotonicNanos)], ledger: &ledger,
            now: now, resumed: resumed)
    }

    private static func apply(
        _ e: Event, to m: inout WatchedMarket, ledger: inout AlertLedger, now: WatchdogInstant, resumed: Bool
    ) -> Outcome {
        if e.isHeartbeat { return heartbeat(e, &m, &ledger, now) }
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
            ledger.raise(
                .sequenceGap, in: &m, now, severity: .warning, title: "\(e.market): events missing from run \(e.runID)",
                message: "run \(e.runID) jumped from seq \(applied) to \(seq): \(missing) event(s) never arrived",
                rootCause: "the worker's journal lost lines, or events were sent without their predecessors",
                action:
                    "compare the worker's journal (state/\(e.market)/events.ndjson) with the watchdog's applied seq; acknowledge once understood",
                metadata: ["run_id": e.runID, "expected_seq": String(applied + 1), "received_seq": String(seq), "missing": String(missing)])
        }
        if let index {
            m.runs[index].appliedSeq = seq
        } else {
            m.runs.append(WatchedMarket.RunRecord(runID: e.runID, appliedSeq: seq, fence: e.fence, pid: e.pid))
            if m.runs.count > WatchedMarket.maxRuns { m.runs.removeFirst(m.runs.count - WatchedMarket.maxRuns) }
        }
        m.counters.events += 1
        if e.fence == 0 {
            m.counters.refusals += 1
            m.lastRefusal = WatchedMarket.Refusal(runID: e.runID, pid: e.pid, ts: e.ts, holderRunID: e.data["holder_run_id"]?.stringValue)
            return .applied(runID: e.runID, seq: seq)
        }
        if e.fence < m.fenceHighWater {
            m.counters.staleFence += 1
            if index == nil, !resumed {
                ledger.raise(
                    .fenceRegression, in: &m, now, severity: .critical,
                    title: "\(e.market): a new run arrived with an older fence",
                    message: "run \(e.runID) (pid \(e.pid)) carries fence \(e.fence), below the high-water mark \(m.fenceHighWater)",
                    rootCause: "a second executor, or a lock or fence file restored from an older copy",
                    action:
                        "find the process with `robot-worker` holders of \(e.market) (pid \(e.pid)); stop the one that should not run; acknowledge to accept",
                    metadata: [
                        "run_id": e.runID, "pid": String(e.pid), "fence": String(e.fence), "fence_high_water": String(m.fenceHighWater),
                    ])
            }
            return .applied(runID: e.runID, seq: seq)
        }
        m.fenceHighWater = e.fence
        current(e, &m, &ledger, now)
        return .applied(runID: e.runID, seq: seq)
    }

    private static func heartbeat(
        _ e: Event, _ m: inout WatchedMarket, _ ledger: inout AlertLedger, _ now: WatchdogInstant
    ) -> Outcome {
        guard e.fence > 0, e.fence >= m.fenceHighWater else {
            m.counters.staleFence += 1
            return .staleHeartbeat
        }
        m.fenceHighWater = e.fence
        m.counters.heartbeats += 1
        m.heartbeatReceivedAt = now.monotonicNanos
        m.heartbeatAgeSeconds = 0
        m.lastHeartbeatUTC = e.ts
        if let mode = e.dataString("mode") { m.mode = mode }
        // The heartbeat's lease object (`null` under the local guard) is parsed only for a market whose
        // worker has reported a lease (`LEASE_STATUS`, kept in the snapshot): a local market's
        // heartbeat stays the cheap in-place read above.
        if m.lease != nil, case .object(let lease)? = e.data["lease"] { m.lease = LeaseView(lease, previous: m.lease) ?? m.lease }
        setHeartbeatState(.ok, &m, &ledger, now)
        return .heartbeat
    }

    /// An event of the current holder (fence at the high-water mark).
    private static func current(_ e: Event, _ m: inout WatchedMarket, _ ledger: inout AlertLedger, _ now: WatchdogInstant) {
        // Parsed once, on first use: a decoded line keeps its data as bytes, and most types never read it.
        lazy var data = e.data
        switch EventType(rawValue: e.type) {
        case .identityInvariantsStatus:
            let pass = data["pass"]?.boolValue ?? false
            let violations = data["violations"]?.stringArrayValue ?? []
            m.lastIdentityInvariantsPass = pass
            m.lastIdentityViolations = violations
            m.lastIdentityInvariantsEventChicago = ChicagoTime.format(utc: e.ts)
            if let c = data["canonical_instrument"]?.stringValue { m.canonicalInstrument = c }
            if let x = data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = data["stream_ids"]?.stringArrayValue { m.streamIDs = s }
            if pass {
                ledger.resolve(.identityViolation, in: &m, now)
            } else {
                ledger.raise(
                    .identityViolation, in: &m, now, severity: .critical, title: "\(e.market): identity invariants violated",
                    message: violations.joined(separator: "; "),
                    rootCause: "the market's configuration names a non-canonical stream or instrument",
                    action: "fix markets.\(e.market) in the configuration and send SIGHUP to the worker (pid \(e.pid))",
                    metadata: ["run_id": e.runID, "violations": violations.joined(separator: "; "), "event_ts": e.ts])
            }
        case .orderGateStatus:
            m.ordersRefused = data["refusals"]?.stringArrayValue ?? []
        case .fenceRaised:
            let reason = data["reason"]?.stringValue ?? "the worker raised its fence"
            m.lastFenceRaise = "\(e.ts): \(reason)"
            ledger.raise(
                .fenceRegression, in: &m, now, severity: .critical, title: "\(e.market): the lock folder lost its fences",
                message: "run \(e.runID) (pid \(e.pid)): \(reason)",
                rootCause: "the lock folder was wiped, restored from an older copy or moved to a new disk",
                action:
                    "find out what happened to the lock folder (\(data["lock_file"]?.stringValue ?? "the market's lock file")); acknowledge once understood",
                metadata: [
                    "run_id": e.runID, "from": String(data["from"]?.intValue ?? 0), "to": String(e.fence),
                    "high_water": String(data["high_water"]?.intValue ?? 0), "source": data["source"]?.stringValue ?? "",
                ])
        case .leaseStatus:
            lease(e, data, &m, &ledger, now)
        case .canonicalizationSelfTest:
            if let x = data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = data["canonical_stream_ids"]?.stringArrayValue { m.streamIDs = s }
        case .configReloaded:
            if let x = data["execution_instrument"]?.stringValue { m.executionInstrument = x }
            if let s = data["stream_ids"]?.stringArrayValue { m.streamIDs = s }
        case .lockStale:
            crashed(
                e, &m, &ledger, now, previousRun: data["stale_run_id"]?.stringValue,
                previousPID: data["stale_pid"]?.intValue.map(String.init),
                detail: "the lock record named run \(data["stale_run_id"]?.stringValue ?? "unknown") that no longer held the lock")
        case .lockAcquired:
            if let held = m.lock, held.runID != e.runID {
                crashed(
                    e, &m, &ledger, now, previousRun: held.runID, previousPID: String(held.pid),
                    detail: "run \(held.runID) (pid \(held.pid)) never released the lock")
            }
            m.lock = WatchedMarket.LockHolder(
                runID: e.runID, pid: e.pid, fence: e.fence, acquiredAtUTC: data["acquired_at_utc"]?.stringValue ?? e.ts)
            m.releasedCleanly = false
            if let x = data["execution_instrument"]?.stringValue { m.executionInstrument = x }
        case .lockReleased:
            if m.lock?.runID == e.runID || m.lock == nil {
                m.lock = nil
                m.releasedCleanly = true
            }
        case .systemModeChange:
            if let to = data["to"]?.stringValue { m.mode = to }
            if let latch = data["latch"] {
                m.latch = latch.objectValue.flatMap { o in
                    o["trigger"]?.stringValue.map {
                        WatchedMarket.Latch(
                            trigger: $0, reason: o["reason"]?.stringValue ?? "", latchedAtUTC: o["latched_at_utc"]?.stringValue,
                            runID: o["run_id"]?.stringValue)
                    }
                }
            }
        case .failsafeTriggered:
            let trigger = data["trigger"]?.stringValue ?? "UNKNOWN"
            let reason = data["reason"]?.stringValue ?? ""
            m.latch = WatchedMarket.Latch(trigger: trigger, reason: reason, latchedAtUTC: e.ts, runID: e.runID)
            ledger.raise(
                .failsafeLatched, in: &m, now, severity: .critical,
                title:
                    "\(e.market): fail-safe \(trigger): the worker latched \(trigger == "RECONCILIATION_MISMATCH" ? "OBSERVE_ONLY" : "SHUTDOWN")",
                message: reason, rootCause: Self.failsafeCause(trigger),
                action: "find and fix the cause, then clear the latch with `watchdog ack \(e.market)` while the worker is connected",
                metadata: [
                    "run_id": e.runID, "trigger": trigger, "event_ts": e.ts, "open_orders": String(data["open_orders"]?.intValue ?? 0),
                ])
        case .startupChecks:
            guard data["passed"]?.boolValue == false else { break }
            let failed = (data["checks"]?.arrayValue ?? []).compactMap(\.objectValue).filter { $0["passed"]?.boolValue == false }
            let names = failed.compactMap { $0["name"]?.stringValue }
            let details = failed.map { "\($0["name"]?.stringValue ?? "?"): \($0["detail"]?.stringValue ?? "")" }.joined(separator: "; ")
            let integrity = names.contains("event_log_integrity") || names.contains("snapshot_consistency")
            ledger.raise(
                integrity ? .integrityViolation : .startupChecksFailed, in: &m, now, severity: .critical,
                title: "\(e.market): startup checks failed (\(names.joined(separator: ", "))): the worker holds OBSERVE_ONLY",
                message: details,
                rootCause: integrity
                    ? "the worker's journal or snapshot is damaged (moved aside as *.damaged-\(e.runID) in its state folder)"
                    : "a startup check failed: \(names.joined(separator: ", "))",
                action:
                    "inspect the worker's state folder and log, then clear the latch with `watchdog ack \(e.market)` while the worker is connected",
                metadata: ["run_id": e.runID, "failed_checks": names.joined(separator: ","), "event_ts": e.ts])
        case .failsafeCleared:
            m.latch = nil
            m.lastLatchCleared = WatchedMarket.LatchClearance(
                trigger: data["trigger"]?.stringValue ?? "", by: data["cleared_by"]?.stringValue ?? "", atUTC: e.ts)
            for condition in Alert.Condition.latches { ledger.resolve(condition, in: &m, now) }
        case .clockStep:
            let delta = data["delta_seconds"]?.doubleValue ?? 0
            let from = data["from"]?.stringValue ?? "?"
            let to = data["to"]?.stringValue ?? "?"
            ledger.raise(
                .clockStep, in: &m, now, severity: .warning,
                title:
                    "\(e.market): the worker's wall clock stepped \(delta < 0 ? "back" : "forward") \(SecondsText.compact(abs(delta))) s",
                message: "run \(e.runID) (pid \(e.pid)): wall clock went from \(from) to \(to); its journal records the step as CLOCK_STEP",
                rootCause:
                    "the host's clock was set or corrected (NTP step, date -s, a resumed VM); timeouts run on the monotonic clock and are not affected",
                action: "check the host's time service (timedatectl, chronyc tracking); acknowledge once understood",
                metadata: ["run_id": e.runID, "from": from, "to": to, "delta_seconds": String(delta), "event_ts": e.ts])
        case .healthStatus:
            m.health = WatchedMarket.Health(
                healthy: data["healthy"]?.boolValue ?? false, reasons: data["reasons"]?.stringArrayValue ?? [], atUTC: e.ts)
        case .orderPlaced:
            if let id = data["client_order_id"]?.stringValue {
                m.openOrders.removeAll { $0.clientOrderID == id }
                m.openOrders.append(
                    WatchedMarket.Order(
                        clientOrderID: id, stream: data["stream"]?.stringValue ?? "", symbol: data["symbol"]?.stringValue ?? "",
                        side: data["side"]?.stringValue ?? "", quantity: data["quantity"]?.intValue ?? 0,
                        limit: data["limit"]?.doubleValue, placedAtUTC: e.ts))
            }
        case .orderFilled, .orderCancelled, .orderTimeout, .orderRejected:
            if let id = data["client_order_id"]?.stringValue { m.openOrders.removeAll { $0.clientOrderID == id } }
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
        case "STRATEGY_MISBEHAVING":
            return "the market's strategy process crashed in a loop or sent too many rejected orders (docs/STRATEGY.md)"
        case "CAPITAL_INVARIANT":
            return "after a fill, allocated - reserved for orders - reserved for positions + realized P&L fell below 0"
        case "RECONCILIATION_MISMATCH": return "the venue's orders or positions differ from the worker's in a way it cannot explain"
        default: return "an unrecoverable error in the worker"
        }
    }

    private static func crashed(
        _ e: Event, _ m: inout WatchedMarket, _ ledger: inout AlertLedger, _ now: WatchdogInstant, previousRun: String?,
        previousPID: String?, detail: String
    ) {
        ledger.raise(
            .holderCrashed, in: &m, now, severity: .warning, title: "\(e.market): the previous lock holder ended without releasing",
            message: "run \(e.runID) (pid \(e.pid)) took over at fence \(e.fence): \(detail)",
            rootCause: "the previous worker crashed or was killed",
            action: "read the previous worker's log for why it ended; acknowledge once understood",
            metadata: [
                "new_run_id": e.runID, "previous_run_id": previousRun ?? "unknown", "previous_pid": previousPID ?? "unknown",
                "fence": String(e.fence),
            ])
    }

    // MARK: alerts

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
                if list[i].condition.closesOnAcknowledgement { ledger.close(list.remove(at: i), now) }
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
        if let market { markets[market]?.counters.rejected[reason.rawValue, default: 0] += 1 }
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
