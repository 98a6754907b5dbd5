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
}
