import Wire

/// The checks a worker runs on its own records before it trusts them (docs/robot-worker.md,
/// "Modes, health and the fail-safe": the startup checks).
///
/// Pure: it reads bytes (the journal and the snapshot, as found on disk) and a feed probe result,
/// and returns each check's result. Any failure starts the worker in `OBSERVE_ONLY` with the reason;
/// it never stops the worker from starting, so an operator can see it.
public enum StartupChecks {
    public struct Result: Sendable, Equatable, Codable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    public static let eventLogIntegrity = "event_log_integrity"
    public static let snapshotConsistency = "snapshot_consistency"
    public static let validMode = "valid_mode"
    public static let feedReachable = "feed_reachable"

    /// Runs every check. `journal` is the file's bytes after a torn last line was cut (`tornBytes`
    /// says how many were cut, reported but not a failure); `snapshot` nil means none was written yet.
    public static func run(journal: [UInt8], tornBytes: Int, snapshot: [UInt8]?, feedProbe: Result) -> [Result] {
        let (snapshotResult, modeResult) = checkSnapshot(snapshot)
        return [checkJournal(journal, tornBytes: tornBytes), snapshotResult, modeResult, feedProbe]
    }

    /// The journal could not be read at all: the integrity check fails with the reason.
    public static func unreadableJournal(_ why: String) -> Result {
        Result(name: eventLogIntegrity, passed: false, detail: "the journal cannot be read: \(why)")
    }

    /// No duplicate event ID (an ID is run_id and seq), timestamps in order within each run,
    /// sequence continuity within each run, and every line an event.
    public static func checkJournal(_ bytes: [UInt8], tornBytes: Int) -> Result {
        var verifier = JournalVerifier()
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count, !verifier.full {
                let end = all[start...].firstIndex(of: UInt8(ascii: "\n")) ?? all.count
                verifier.check(line: UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end + 1
            }
        }
        return verifier.result(tornBytes: tornBytes)
    }

    /// True when `event`, whose timestamp `ts` goes back from `previous`, is the `CLOCK_STEP` that
    /// says so: the wall clock stepped back from `from` (no earlier than `previous`) to `to` (its
    /// own timestamp). A timestamp going back anywhere else is explained by nothing.
    static func clockStepExplains(_ event: Event, ts: Int64, previous: Int64) -> Bool {
        guard event.type == EventType.clockStep.rawValue else { return false }
        let data = event.data
        guard let from = data["from"]?.stringValue.flatMap(UTCTimestamp.parse),
            let to = data["to"]?.stringValue.flatMap(UTCTimestamp.parse),
            let delta = data["delta_seconds"]?.doubleValue
        else { return false }
        return to == ts && delta < 0 && from >= previous && abs(from + Int64((delta * 1e6).rounded()) - to) <= 1
    }

    /// The snapshot parses, names this market's records consistently, and its mode is a valid one.
    public static func checkSnapshot(_ bytes: [UInt8]?) -> (snapshot: Result, mode: Result) {
        guard let bytes else {
            return (
                Result(name: snapshotConsistency, passed: true, detail: "no snapshot yet"),
                Result(name: validMode, passed: true, detail: "no persisted mode")
            )
        }
        switch WorkerSnapshot.decode(bytes) {
        case .failure(let why):
            let modeResult: Result
            if case .invalidMode(let mode) = why {
                modeResult = Result(
                    name: validMode, passed: false, detail: "persisted mode \"\(mode)\" is not one of AGGRESSIVE, OBSERVE_ONLY, SHUTDOWN")
            } else {
                modeResult = Result(name: validMode, passed: false, detail: "no readable persisted mode")
            }
            return (Result(name: snapshotConsistency, passed: false, detail: why.description), modeResult)
        case .success(let s):
            return (
                Result(
                    name: snapshotConsistency, passed: true, detail: "written \(s.writtenAtUTC) by run \(s.runID), \(s.orders.count) orders"
                ),
                Result(name: validMode, passed: true, detail: s.mode.rawValue)
            )
        }
    }
}
