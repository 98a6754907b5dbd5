/// The event types a worker emits (docs/PROTOCOL.md gives each one's `data`).
public enum EventType: String, CaseIterable, Sendable {
    case canonicalizationSelfTest = "CANONICALIZATION_SELF_TEST"
    case identityInvariantsStatus = "IDENTITY_INVARIANTS_STATUS"
    case lockAcquired = "CANONICAL_MARKET_LOCK_ACQUIRED"
    case alreadyActive = "CANONICAL_MARKET_ALREADY_ACTIVE"
    case lockStale = "CANONICAL_MARKET_LOCK_STALE"
    case lockReleased = "CANONICAL_MARKET_LOCK_RELEASED"
    case heartbeat = "HEARTBEAT"
    case configReloaded = "CONFIG_RELOADED"
    case configReloadFailed = "CONFIG_RELOAD_FAILED"
    case startupChecks = "STARTUP_CHECKS"
    case healthStatus = "HEALTH_STATUS"
    case systemModeChange = "SYSTEM_MODE_CHANGE"
    case failsafeTriggered = "FAILSAFE_TRIGGERED"
    case failsafeCleared = "FAILSAFE_CLEARED"
    case feedStatus = "FEED_STATUS"
    case orderPlaced = "ORDER_PLACED"
    case orderBlocked = "ORDER_BLOCKED"
    case orderRejected = "ORDER_REJECTED"
    case orderFilled = "ORDER_FILLED"
    case orderCancelled = "ORDER_CANCELLED"
    case orderTimeout = "ORDER_TIMEOUT"
    /// The wall clock stepped against the monotonic clock by more than a second.
    case clockStep = "CLOCK_STEP"
    case fenceRaised = "FENCE_RAISED"
    case orderGateStatus = "ORDER_GATE_STATUS"
    /// The lease across hosts changed: holder, standby, lost, the database unreachable (docs/MULTIHOST.md).
    case leaseStatus = "LEASE_STATUS"
    /// The venue holds an order (docs/robot-worker.md, "Venues").
    case orderAccepted = "ORDER_ACCEPTED"
    case positionOpened = "POSITION_OPENED"
    case positionUpdated = "POSITION_UPDATED"
    case positionClosed = "POSITION_CLOSED"
    /// The worker compared its book with its venue's.
    case reconciliation = "RECONCILIATION"
    /// The strategy process (docs/STRATEGY.md, "Journal"): started, ready, exited, its orders and
    /// their answers, cancels, log lines, malformed lines, and a periodic summary (ticks included).
    case strategyStarted = "STRATEGY_STARTED"
    case strategyReady = "STRATEGY_READY"
    case strategyExited = "STRATEGY_EXITED"
    case strategyOrder = "STRATEGY_ORDER"
    case strategyCancel = "STRATEGY_CANCEL"
    case strategyLog = "STRATEGY_LOG"
    case strategyMalformed = "STRATEGY_MALFORMED"
    case strategyStatus = "STRATEGY_STATUS"

    private static let byName: [String: EventType] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })

    /// The type named `rawValue`: one hash lookup (the synthesized initializer compares the
    /// name with every case in turn, a few hundred instructions on the watchdog's per-event path).
    public init?(rawValue: String) {
        guard let type = Self.byName[rawValue] else { return nil }
        self = type
    }
}
