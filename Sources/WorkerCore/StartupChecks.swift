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
        var problems: [String] = []
        var seen = Set<String>()
        var lastSeq: [String: Int64] = [:]
        var lastTS: [String: Int64] = [:]
        var lineNumber = 0
        var events = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let event: Event
            do { event = try Event.decode(line: Array(line)) } catch {
                problems.append("line \(lineNumber) is not an event (\(error.reason.rawValue))")
                continue
            }
            events += 1
            if let ts = UTCTimestamp.parse(event.ts) {
                if let previous = lastTS[event.runID], ts < previous, !clockStepExplains(event, ts: ts, previous: previous) {
                    problems.append("line \(lineNumber): timestamp \(event.ts) goes back in time in run \(event.runID)")
                }
                lastTS[event.runID] = ts
            }
            guard let seq = event.seq else { continue }
            let id = "\(event.runID)/\(seq)"
            if !seen.insert(id).inserted {
                problems.append("line \(lineNumber): duplicate event ID \(id)")
                continue
            }
            if let previous = lastSeq[event.runID], seq != previous + 1 {
                problems.append("line \(lineNumber): run \(event.runID) jumps from seq \(previous) to \(seq)")
            }
            lastSeq[event.runID] = max(seq, lastSeq[event.runID] ?? 0)
            if problems.count >= 20 { break }
        }
        let torn = tornBytes > 0 ? "; a torn last line of \(tornBytes) bytes was cut" : ""
        if problems.isEmpty {
            return Result(name: eventLogIntegrity, passed: true, detail: "\(events) events, \(lastSeq.count) runs\(torn)")
        }
        return Result(name: eventLogIntegrity, passed: false, detail: problems.prefix(5).joined(separator: "; ") + torn)
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
