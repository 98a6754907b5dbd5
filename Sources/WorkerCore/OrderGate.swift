import RobotConfig

/// Whether a new order may go out, beyond the mode (docs/robot-worker.md, "Order gates"): the
/// identity gate (a stream that violates an identity invariant places no new orders; a violation
/// of the market as a whole stops them all) and the fence gate (no order on a fence the watchdog
/// has not confirmed to be above every fence it has seen for the market). Cancels are never gated.
///
/// Pure: the worker feeds it each identity check and what the watchdog said; it answers.
public struct OrderGate: Sendable, Equatable {
    /// Why a new order is refused: `reason` is the wire word (`IDENTITY_VIOLATION`,
    /// `FENCE_UNCONFIRMED`, `FENCE_REGRESSION`), `detail` the text for the operator.
    public struct Refusal: Sendable, Equatable {
        public var reason: String
        public var detail: String
        public var line: String { "\(reason): \(detail)" }
    }

    /// What the worker knows of its fence against the watchdog's high-water mark.
    public enum FenceState: Sendable, Equatable {
        /// Above every fence the worker's records and the watchdog know of (or the watchdog was
        /// unreachable at start: the worker's own records are the only memory, docs/robot-worker.md).
        case confirmed
        /// Connected to the watchdog, its welcome (with the high-water mark) not yet read.
        case awaitingWatchdog
        /// At or below the watchdog's high-water mark and not raised (the raise failed).
        case regressed(fence: Int64, highWater: Int64, why: String)
    }

    public static let identityViolation = "IDENTITY_VIOLATION"
    public static let fenceUnconfirmed = "FENCE_UNCONFIRMED"
    public static let fenceRegression = "FENCE_REGRESSION"

    /// `safety.identity_gates_orders`: false only observes identity.
    public var identityGates: Bool
    public var fence: FenceState = .confirmed
    /// Violations of one stream, by stream id.
    public private(set) var streamViolations: [String: [String]] = [:]
    /// Violations of the market as a whole (the execution instrument missing).
    public private(set) var marketViolations: [String] = []

    public init(identityGates: Bool) { self.identityGates = identityGates }

    /// Takes the latest identity check.
    public mutating func identity(_ invariants: IdentityInvariants) {
        let split = invariants.violationsByScope()
        streamViolations = split.streams
        marketViolations = split.market
    }

    /// Why a new order on `stream` is refused now; nil when it may go out (the mode permitting).
    public func refusal(stream: String) -> Refusal? {
        switch fence {
        case .confirmed: break
        case .awaitingWatchdog:
            return Refusal(
                reason: Self.fenceUnconfirmed,
                detail: "the watchdog has not yet said the highest fence it has seen for the market; orders wait for its welcome")
        case .regressed(let fence, let highWater, let why):
            return Refusal(
                reason: Self.fenceRegression,
                detail: "fence \(fence) is not above the watchdog's high-water mark \(highWater) and could not be raised: \(why)")
        }
        guard identityGates else { return nil }
        if !marketViolations.isEmpty {
            return Refusal(reason: Self.identityViolation, detail: marketViolations.joined(separator: "; "))
        }
        if let v = streamViolations[stream], !v.isEmpty {
            return Refusal(reason: Self.identityViolation, detail: v.joined(separator: "; "))
        }
        return nil
    }

    /// Every refusal in force, one line each (`*` for all streams): what `ORDER_GATE_STATUS`
    /// carries and `watchdog status` shows.
    public func refusals(streams: [String]) -> [String] {
        var lines: [String] = []
        if case .confirmed = fence {} else if let r = refusal(stream: "") { lines.append("*: " + r.line) }
        guard identityGates else { return lines }
        if !marketViolations.isEmpty {
            lines.append("*: \(Self.identityViolation): " + marketViolations.joined(separator: "; "))
            return lines
        }
        for s in streams {
            if let v = streamViolations[s], !v.isEmpty { lines.append("\(s): \(Self.identityViolation): " + v.joined(separator: "; ")) }
        }
        return lines
    }
}

extension IdentityInvariants {
    /// The violations split by scope: a stream's own (rules 1 and 2) and the market's (rule 3,
    /// the execution instrument missing, which no stream can trade without).
    public func violationsByScope() -> (market: [String], streams: [String: [String]]) {
        var streamViolations: [String: [String]] = [:]
        for stream in streams {
            let own = IdentityInvariants(canonical: canonical, execution: execution.isEmpty ? canonical : execution, streams: [stream])
                .check()
            if !own.pass { streamViolations[stream.id] = own.violations }
        }
        let market = execution.isEmpty ? ["execution instrument is missing for \(canonical)"] : []
        return (market, streamViolations)
    }
}
