import Wire

/// A worker's health (docs/robot-worker.md, "Modes, health and the fail-safe"): unhealthy when the error rate is above its limit, market data or
/// the last event-log write is older than its limit, or the execution queue is stalled.
///
/// Pure: every time is monotonic seconds passed in, so each rule is tested at its threshold without
/// waiting. The shell records what happens (`recordError`, `marketData`, ...) and asks `report(now:)`.
public struct HealthMonitor: Sendable {
    public struct Thresholds: Sendable, Equatable {
        public var maxErrorsPerMinute: Double = 10
        public var marketDataStaleSeconds: Double = 300
        public var eventLogStaleSeconds: Double = 600
        public init() {}
    }

    public enum QueueStatus: String, Sendable, Codable {
        case idle = "IDLE"
        case processing = "PROCESSING"
        case stalled = "STALLED"
    }

    public struct Report: Sendable, Equatable {
        public var healthy: Bool { reasons.isEmpty }
        /// One line per failed rule, empty when healthy.
        public var reasons: [String]
        /// The failed rules' stable names (`error_rate`, `market_data_stale`, `event_log_stale`,
        /// `queue_stalled`), in the order of `reasons`: what changes when health changes.
        public var rules: [String]
        public var errorsPerMinute: Double
        public var marketDataAgeSeconds: Double?
        public var eventLogAgeSeconds: Double?
        public var snapshotAgeSeconds: Double?
        public var queue: QueueStatus
    }

    public var thresholds: Thresholds
    private let startedAt: Double
    private var errorTimes: [Double] = []
    public private(set) var lastMarketData: Double?
    public private(set) var lastEventLogWrite: Double?
    public private(set) var lastSnapshotWrite: Double?
    public var queue: QueueStatus = .idle

    public init(thresholds: Thresholds = Thresholds(), startedAt: Double) {
        self.thresholds = thresholds
        self.startedAt = startedAt
    }

    public mutating func recordError(at now: Double) {
        errorTimes.append(now)
        errorTimes.removeAll { $0 <= now - 60 }
    }

    public mutating func marketData(at now: Double) { lastMarketData = now }
    public mutating func eventLogWrite(at now: Double) { lastEventLogWrite = now }
    public mutating func snapshotWrite(at now: Double) { lastSnapshotWrite = now }

    /// Errors in the minute before `now`.
    public func errorsPerMinute(now: Double) -> Double { Double(errorTimes.filter { $0 > now - 60 && $0 <= now }.count) }

    public func report(now: Double) -> Report {
        var reasons: [String] = []
        var rules: [String] = []
        let rate = errorsPerMinute(now: now)
        if rate > thresholds.maxErrorsPerMinute {
            reasons.append("error rate \(Int(rate))/min is above \(SecondsText.compact(thresholds.maxErrorsPerMinute))/min")
            rules.append("error_rate")
        }
        // Before the first update, age counts from the start: a feed that never delivers goes stale too.
        let dataAge = now - (lastMarketData ?? startedAt)
        if dataAge > thresholds.marketDataStaleSeconds {
            reasons.append(
                "market data is \(SecondsText.compact(dataAge)) s old (limit \(SecondsText.compact(thresholds.marketDataStaleSeconds)) s)")
            rules.append("market_data_stale")
        }
        let logAge = now - (lastEventLogWrite ?? startedAt)
        if logAge > thresholds.eventLogStaleSeconds {
            reasons.append(
                "the last event-log write is \(SecondsText.compact(logAge)) s old (limit \(SecondsText.compact(thresholds.eventLogStaleSeconds)) s)"
            )
            rules.append("event_log_stale")
        }
        if queue == .stalled {
            reasons.append("the execution queue is stalled")
            rules.append("queue_stalled")
        }
        return Report(
            reasons: reasons, rules: rules, errorsPerMinute: rate, marketDataAgeSeconds: lastMarketData.map { now - $0 },
            eventLogAgeSeconds: lastEventLogWrite.map { now - $0 }, snapshotAgeSeconds: lastSnapshotWrite.map { now - $0 }, queue: queue)
    }
}
