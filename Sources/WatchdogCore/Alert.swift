/// An operator alert (docs/watchdog.md, "Alerts"): rare and actionable.
///
/// One alert is open per (market, condition) while the condition lasts; a repeat updates it
/// (`occurrences`, `metadata`) instead of raising another. Conditions that are states
/// (`IDENTITY_VIOLATION`, `HEARTBEAT_LOST`, and the latches `FAILSAFE_LATCHED`,
/// `STARTUP_CHECKS_FAILED`, `INTEGRITY_VIOLATION`, which end when the worker reports the latch
/// cleared) resolve by themselves when the state ends; an acknowledgement only marks them
/// `acknowledged`. Conditions that are incidents
/// (`FENCE_REGRESSION`, `LOCK_HOLDER_CRASHED`, `SEQUENCE_GAP`, `CLOCK_STEP`) close when acknowledged.
public struct Alert: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable {
        case critical = "CRITICAL"
        case warning = "WARNING"
        case info = "INFO"
    }

    public enum Condition: String, Codable, Sendable, CaseIterable {
        case identityViolation = "IDENTITY_VIOLATION"
        case heartbeatLost = "HEARTBEAT_LOST"
        case fenceRegression = "FENCE_REGRESSION"
        case holderCrashed = "LOCK_HOLDER_CRASHED"
        case sequenceGap = "SEQUENCE_GAP"
        /// A fail-safe trigger latched the worker in SHUTDOWN.
        case failsafeLatched = "FAILSAFE_LATCHED"
        /// A startup check other than the integrity ones failed: the worker holds OBSERVE_ONLY.
        case startupChecksFailed = "STARTUP_CHECKS_FAILED"
        /// The worker's journal or snapshot failed its integrity check: it holds OBSERVE_ONLY.
        case integrityViolation = "INTEGRITY_VIOLATION"
        /// The worker's wall clock stepped (a `CLOCK_STEP` event): one warning per step, for the
        /// operator to check the host's time service; the journal is not damaged by it.
        case clockStep = "CLOCK_STEP"
        /// The worker's lease database does not answer (docs/MULTIHOST.md): nobody trades the market.
        case leaseDatabaseUnreachable = "LEASE_DATABASE_UNREACHABLE"

        /// The conditions a worker's latch stands for: they end when it reports the latch cleared.
        public static let latches: [Condition] = [.failsafeLatched, .startupChecksFailed, .integrityViolation]

        /// True for incidents, which an acknowledgement closes.
        public var closesOnAcknowledgement: Bool {
            switch self {
            case .identityViolation, .heartbeatLost, .failsafeLatched, .startupChecksFailed, .integrityViolation, .leaseDatabaseUnreachable:
                return false
            case .fenceRegression, .holderCrashed, .sequenceGap, .clockStep: return true
            }
        }
    }

    public var alertID: String
    public var market: String
    public var condition: Condition
    /// When it was raised (UTC).
    public var timestamp: String
    public var severity: Severity
    public var title: String
    public var message: String
    public var rootCause: String
    public var recommendedAction: String
    public var metadata: [String: String]
    public var acknowledged: Bool
    /// How many times the condition was seen while this alert was open.
    public var occurrences: Int
    /// When it was resolved or closed (UTC); nil while open.
    public var resolvedAtUTC: String?

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id"
        case market, condition, timestamp, severity, title, message
        case rootCause = "root_cause"
        case recommendedAction = "recommended_action"
        case metadata, acknowledged, occurrences
        case resolvedAtUTC = "resolved_at_utc"
    }
}
