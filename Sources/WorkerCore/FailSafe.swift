import Wire

/// The fail-safe triggers (docs/robot-worker.md, "Modes, health and the fail-safe") and the latch
/// they set.
///
/// Triggers: market data stalled longer than `marketDataStalledSeconds` (10 min), event-log writes
/// failing for longer than `eventLogFailingSeconds` (15 min), no snapshot for longer than
/// `noSnapshotSeconds` (25 h), an unrecoverable error, and health failing without a break for
/// `healthFailingSeconds` (10 min: longer than the 5-minute market-data health rule, so a stalled
/// feed first makes the worker unhealthy and then trips the fail-safe).
///
/// Once tripped the latch stays set, across restarts (the shell persists it before acting), until
/// an operator clears it. Pure: times are monotonic seconds passed in.
public struct FailSafe: Sendable {
    public struct Thresholds: Sendable, Equatable {
        public var marketDataStalledSeconds: Double = 600
        public var eventLogFailingSeconds: Double = 900
        public var noSnapshotSeconds: Double = 90_000
        public var healthFailingSeconds: Double = 600
        public init() {}
    }

    public enum Trigger: String, Sendable, Codable, CaseIterable {
        case marketDataStalled = "MARKET_DATA_STALLED"
        case eventLogFailing = "EVENT_LOG_FAILING"
        case noSnapshot = "NO_SNAPSHOT"
        case unrecoverableError = "UNRECOVERABLE_ERROR"
        case healthFailing = "HEALTH_FAILING"
        /// The strategy process crashed too often, or sent too many rejected orders or malformed lines (docs/STRATEGY.md).
        case strategyMisbehaving = "STRATEGY_MISBEHAVING"
        /// Not a fail-safe trigger but latched the same way: the startup checks failed, so the
        /// worker holds `OBSERVE_ONLY` until an operator has looked.
        case startupChecksFailed = "STARTUP_CHECKS_FAILED"
        /// The capital ledger's invariant broke after a fill (`CapitalLedger`).
        case capitalInvariant = "CAPITAL_INVARIANT"
        /// Reconciliation found a difference with the venue the worker cannot explain: held in
        /// `OBSERVE_ONLY` until an operator has looked.
        case reconciliationMismatch = "RECONCILIATION_MISMATCH"

        /// The mode a latch of this kind holds the worker in.
        public var latchedMode: SystemMode {
            self == .startupChecksFailed || self == .reconciliationMismatch ? .observeOnly : .shutdown
        }
    }

    /// A tripped latch, as persisted in the worker's snapshot.
    public struct Latch: Sendable, Codable, Equatable {
        public var trigger: Trigger
        public var reason: String
        public var latchedAtUTC: String
        public var runID: String
        public init(trigger: Trigger, reason: String, latchedAtUTC: String, runID: String) {
            self.trigger = trigger
            self.reason = reason
            self.latchedAtUTC = latchedAtUTC
            self.runID = runID
        }
        enum CodingKeys: String, CodingKey {
            case trigger, reason
            case latchedAtUTC = "latched_at_utc"
            case runID = "run_id"
        }
    }

    public var thresholds: Thresholds
    private let startedAt: Double
    private var eventLogFailingSince: Double?
    private var unhealthySince: Double?

    public init(thresholds: Thresholds = Thresholds(), startedAt: Double) {
        self.thresholds = thresholds
        self.startedAt = startedAt
    }

    /// Tells the fail-safe whether the last event-log write succeeded.
    public mutating func eventLogWrite(succeeded: Bool, at now: Double) {
        if succeeded { eventLogFailingSince = nil } else if eventLogFailingSince == nil { eventLogFailingSince = now }
    }

    /// The trigger that fires now, if any, given the health monitor's view. Checked in a fixed
    /// order so one cause gives one trigger.
    public mutating func evaluate(health: HealthMonitor, now: Double) -> (Trigger, String)? {
        let dataAge = now - (health.lastMarketData ?? startedAt)
        if dataAge > thresholds.marketDataStalledSeconds {
            return (
                .marketDataStalled,
                "no market data for \(SecondsText.compact(dataAge)) s (limit \(SecondsText.compact(thresholds.marketDataStalledSeconds)) s)"
            )
        }
        if let since = eventLogFailingSince, now - since > thresholds.eventLogFailingSeconds {
            return (
                .eventLogFailing,
                "event-log writes failing for \(SecondsText.compact(now - since)) s (limit \(SecondsText.compact(thresholds.eventLogFailingSeconds)) s)"
            )
        }
        let snapshotAge = now - (health.lastSnapshotWrite ?? startedAt)
        if snapshotAge > thresholds.noSnapshotSeconds {
            return (
                .noSnapshot,
                "no snapshot written for \(SecondsText.compact(snapshotAge)) s (limit \(SecondsText.compact(thresholds.noSnapshotSeconds)) s)"
            )
        }
        let report = health.report(now: now)
        if report.healthy {
            unhealthySince = nil
        } else {
            let since = unhealthySince ?? now
            unhealthySince = since
            if now - since >= thresholds.healthFailingSeconds {
                return (.healthFailing, "unhealthy for \(SecondsText.compact(now - since)) s: " + report.reasons.joined(separator: "; "))
            }
        }
        return nil
    }
}
