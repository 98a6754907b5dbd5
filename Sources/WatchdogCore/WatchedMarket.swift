/// What the watchdog knows of one canonical market (docs/PROTOCOL.md, "Status"). The JSON names
/// are the status and snapshot field names.
public struct WatchedMarket: Codable, Sendable, Equatable {
    /// The holder of the market's lock as its `CANONICAL_MARKET_LOCK_ACQUIRED` event named it.
    public struct LockHolder: Codable, Sendable, Equatable {
        public var runID: String
        public var pid: Int32
        public var fence: Int64
        public var acquiredAtUTC: String?

        enum CodingKeys: String, CodingKey {
            case runID = "run_id"
            case pid, fence
            case acquiredAtUTC = "acquired_at_utc"
        }
    }

    /// The last seq applied for one run.
    public struct RunRecord: Codable, Sendable, Equatable {
        public var runID: String
        public var appliedSeq: Int64
        public var fence: Int64
        public var pid: Int32

        enum CodingKeys: String, CodingKey {
            case runID = "run_id"
            case appliedSeq = "applied_seq"
            case fence, pid
        }
    }

    /// The last refused worker (a fence-0 `CANONICAL_MARKET_ALREADY_ACTIVE`).
    public struct Refusal: Codable, Sendable, Equatable {
        public var runID: String
        public var pid: Int32
        public var ts: String
        public var holderRunID: String?

        enum CodingKeys: String, CodingKey {
            case runID = "run_id"
            case pid, ts
            case holderRunID = "holder_run_id"
        }
    }

    public struct Counters: Codable, Sendable, Equatable {
        /// Events applied (each seq of each run once).
        public var events: Int64 = 0
        public var heartbeats: Int64 = 0
        /// Events received again after they were applied (not applied twice).
        public var duplicates: Int64 = 0
        /// Seqs never received: the sum of the gaps' sizes.
        public var gaps: Int64 = 0
        /// Lines refused on connections bound to this market, by reason.
        public var rejected: [String: Int64] = [:]
        /// Events of a lower fence than the high-water mark: kept as history only.
        public var staleFence: Int64 = 0
        /// Fence-0 events of refused workers.
        public var refusals: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case events, heartbeats, duplicates, gaps, rejected, refusals
            case staleFence = "stale_fence"
        }
    }

    /// A latch the worker holds (`SHUTDOWN` after a fail-safe trigger, `OBSERVE_ONLY` after failed
    /// startup checks), as its last `SYSTEM_MODE_CHANGE` carried it. Cleared only by an operator.
    public struct Latch: Codable, Sendable, Equatable {
        public var trigger: String
        public var reason: String
        public var latchedAtUTC: String?
        public var runID: String?
        enum CodingKeys: String, CodingKey {
            case trigger, reason
            case latchedAtUTC = "latched_at_utc"
            case runID = "run_id"
        }
    }

    /// Who cleared the last latch, and when (from `FAILSAFE_CLEARED`).
    public struct LatchClearance: Codable, Sendable, Equatable {
        public var trigger: String
        public var by: String
        public var atUTC: String
        enum CodingKeys: String, CodingKey {
            case trigger, by
            case atUTC = "at_utc"
        }
    }

    /// The worker's own view of its health (its last `HEALTH_STATUS`).
    public struct Health: Codable, Sendable, Equatable {
        public var healthy: Bool
        public var reasons: [String]
        public var atUTC: String
        enum CodingKeys: String, CodingKey {
            case healthy, reasons
            case atUTC = "at_utc"
        }
    }

    /// An open SIM order (from `ORDER_PLACED` until filled, cancelled or timed out).
    public struct Order: Codable, Sendable, Equatable {
        public var clientOrderID: String
        public var stream: String
        public var symbol: String
        public var side: String
        public var quantity: Int64
        public var limit: Double?
        public var placedAtUTC: String
        enum CodingKeys: String, CodingKey {
            case clientOrderID = "client_order_id"
            case stream, symbol, side, quantity, limit
            case placedAtUTC = "placed_at_utc"
        }
    }

    /// How many runs' applied seqs are kept (the oldest is forgotten first).
    public static let maxRuns = 64

    public var canonicalInstrument: String
    public var executionInstrument: String?
    public var streamIDs: [String] = []
    public var lastIdentityInvariantsPass: Bool?
    public var lastIdentityInvariantsEventChicago: String?
    public var lastIdentityViolations: [String] = []
    /// Why the worker refuses new orders now, one line each (`ES1: IDENTITY_VIOLATION: …`, `*` for
    /// every stream), from its last `ORDER_GATE_STATUS`; empty: none refused; nil: not yet known.
    public var ordersRefused: [String]?
    /// The last `FENCE_RAISED`: the lock folder lost its fences and the worker raised its own.
    public var lastFenceRaise: String?
    public var heartbeatState: HeartbeatState = .ok
    /// The `ts` of the last heartbeat of the current holder (the worker's clock).
    public var lastHeartbeatUTC: String?
    /// Since the last heartbeat arrived, on the watchdog's monotonic clock (since the watchdog
    /// started, for a market loaded from the snapshot that has not sent one since).
    public var heartbeatAgeSeconds: Double = 0
    public var mode: String?
    public var latch: Latch?
    public var lastLatchCleared: LatchClearance?
    public var health: Health?
    public var openOrders: [Order] = []
    public var lock: LockHolder?
    /// True once the holder journaled `CANONICAL_MARKET_LOCK_RELEASED` (a clean stop): its
    /// silence then raises no alert.
    public var releasedCleanly = false
    public var fenceHighWater: Int64 = 0
    /// The lease across hosts as the worker reports it (`guard.backend: postgresql`); nil under the local guard.
    public var lease: LeaseView?
    /// Open alerts.
    public var alerts: [Alert] = []
    /// Open alerts held back while the market is LOST; shown again when it is back.
    public var inhibitedAlerts: [Alert] = []
    public var counters = Counters()
    /// Applied seq per run, oldest first, at most `maxRuns`.
    public var runs: [RunRecord] = []
    public var lastRefusal: Refusal?
    /// When the last heartbeat arrived, monotonic; not persisted (see `WatchdogState.restartClocks`).
    var heartbeatReceivedAt: Int64 = 0

    public init(canonicalInstrument: String, now: Int64) {
        self.canonicalInstrument = canonicalInstrument
        heartbeatReceivedAt = now
    }

    /// The last seq applied for `runID` (0: none).
    public func appliedSeq(_ runID: String) -> Int64 {
        runIndex(runID).map { runs[$0].appliedSeq } ?? 0
    }

    func runIndex(_ runID: String) -> Int? { runs.lastIndex { $0.runID == runID } }

    /// True when the market is healthy for `watchdog status`: heartbeat OK, identity passing,
    /// lock held, no latch, the worker healthy, no open unacknowledged alert.
    public var isHealthy: Bool {
        heartbeatState == .ok && lastIdentityInvariantsPass == true && lock != nil && latch == nil && health?.healthy != false
            && !(alerts + inhibitedAlerts).contains { !$0.acknowledged }
    }

    enum CodingKeys: String, CodingKey {
        case canonicalInstrument = "canonical_instrument"
        case executionInstrument = "execution_instrument"
        case streamIDs = "stream_ids"
        case lastIdentityInvariantsPass = "last_identity_invariants_pass"
        case lastIdentityInvariantsEventChicago = "last_identity_invariants_event_chicago"
        case lastIdentityViolations = "last_identity_violations"
        case heartbeatState = "heartbeat_state"
        case lastHeartbeatUTC = "last_heartbeat_utc"
        case heartbeatAgeSeconds = "heartbeat_age_seconds"
        case mode, latch, health, lock, alerts, counters, runs
        case lastLatchCleared = "last_latch_cleared"
        case openOrders = "open_orders"
        case releasedCleanly = "released_cleanly"
        case fenceHighWater = "fence_high_water"
        case inhibitedAlerts = "inhibited_alerts"
        case lastRefusal = "last_refusal"
        case ordersRefused = "orders_refused"
        case lastFenceRaise = "last_fence_raise"
        case lease
    }

    /// Optional fields are written as `null`, never left out, so a reader sees every field.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodeSettled(into: &c)
        try c.encode(heartbeatState, forKey: .heartbeatState)
        try c.encode(lastHeartbeatUTC, forKey: .lastHeartbeatUTC)
        try c.encode(heartbeatAgeSeconds, forKey: .heartbeatAgeSeconds)
        try c.encode(counters, forKey: .counters)
        try c.encode(runs, forKey: .runs)
    }

    /// Every field but the five that heartbeats and a steady stream of events change
    /// (`heartbeat_state`, `last_heartbeat_utc`, `heartbeat_age_seconds`, `counters`, `runs`):
    /// what `SnapshotEncoder` keeps encoded between snapshots while only those change.
    func encodeSettled(into c: inout KeyedEncodingContainer<CodingKeys>) throws {
        try c.encode(canonicalInstrument, forKey: .canonicalInstrument)
        try c.encode(executionInstrument, forKey: .executionInstrument)
        try c.encode(streamIDs, forKey: .streamIDs)
        try c.encode(lastIdentityInvariantsPass, forKey: .lastIdentityInvariantsPass)
        try c.encode(lastIdentityInvariantsEventChicago, forKey: .lastIdentityInvariantsEventChicago)
        try c.encode(lastIdentityViolations, forKey: .lastIdentityViolations)
        try c.encode(mode, forKey: .mode)
        try c.encode(latch, forKey: .latch)
        try c.encode(lastLatchCleared, forKey: .lastLatchCleared)
        try c.encode(health, forKey: .health)
        try c.encode(openOrders, forKey: .openOrders)
        try c.encode(lock, forKey: .lock)
        try c.encode(releasedCleanly, forKey: .releasedCleanly)
        try c.encode(fenceHighWater, forKey: .fenceHighWater)
        try c.encode(alerts, forKey: .alerts)
        try c.encode(inhibitedAlerts, forKey: .inhibitedAlerts)
        try c.encode(lastRefusal, forKey: .lastRefusal)
        // Left out until known, so a state saved before the order gate encodes as it was.
        try c.encodeIfPresent(ordersRefused, forKey: .ordersRefused)
        try c.encodeIfPresent(lastFenceRaise, forKey: .lastFenceRaise)
        try c.encodeIfPresent(lease, forKey: .lease)
    }

    /// This market with those five fields set to fixed values: two markets whose
    /// settled views are equal encode `encodeSettled` to the same bytes.
    var settled: WatchedMarket {
        var m = self
        m.heartbeatState = .ok
        m.lastHeartbeatUTC = nil
        m.heartbeatAgeSeconds = 0
        m.counters = Counters()
        m.runs = []
        m.heartbeatReceivedAt = 0
        return m
    }
}
