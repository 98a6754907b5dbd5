import RobotConfig
import Wire

/// The running worker's identity invariants: checks them, and says what to journal (when
/// `InvariantsSchedule` says so) and whether the result changed since the last check (worth a log
/// line and a new status). Time comes in as monotonic nanoseconds.
struct IdentityWatch {
    struct Outcome {
        /// The `IDENTITY_INVARIANTS_STATUS` data to journal, if it is due.
        var event: JSONObject?
        /// The new result, when it differs from the last check's and is journaled now.
        var changed: IdentityInvariants.Result?
    }

    private var schedule: InvariantsSchedule
    private(set) var last: IdentityInvariants.Result?

    init(intervalSeconds: Double) {
        schedule = InvariantsSchedule(intervalNanos: Int64(intervalSeconds * 1e9))
    }

    /// True unless the last check found a violation.
    var passing: Bool { last?.pass ?? true }

    func nextCheck(now: Int64) -> Int64 { schedule.nextCheck(now: now) }

    mutating func check(canonical: String, execution: String, streams: [StreamSpec], now: Int64) -> Outcome {
        let invariants = IdentityInvariants(canonical: canonical, execution: execution, streams: streams)
        let result = invariants.check()
        let changed = last != nil && last != result
        last = result
        guard schedule.shouldEmit(violations: result.violations, now: now) else { return Outcome() }
        let event: JSONObject = [
            "pass": .bool(result.pass), "violations": .strings(result.violations), "canonical_instrument": .string(canonical),
            "execution_instrument": .string(execution), "stream_ids": .strings(invariants.streamIDs),
            "checked_at_utc": .string(UTCTimestamp.now()),
        ]
        return Outcome(event: event, changed: changed ? result : nil)
    }
}
