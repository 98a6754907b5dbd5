import Wire

#if canImport(Glibc)
import Glibc
#endif

/// What a starting worker finds in its journal for the watchdog: the events of earlier runs
/// (not heartbeats), grouped by run in the order the runs first appear, so that a crashed run's
/// events the watchdog never acked are re-sent by the next run. Lines that do not decode as
/// events are skipped and counted (`skipped`), never sent.
public struct JournalBacklog {
    /// One journaled event line (newline included) and its seq.
    public struct Line {
        public var seq: Int64
        public var bytes: [UInt8]
    }

    /// At most this many of the most recent earlier runs are offered to the watchdog; it
    /// remembers the applied seq of 64 runs per market, so it never sees an old run it forgot.
    public static let maxRuns = 32

    public private(set) var runs: [(runID: String, lines: [Line])] = []
    public private(set) var skipped = 0
    /// The `ts` of the journal's first event, for the age rule of rotation.
    public private(set) var firstMicros: Int64?

    /// The earlier runs found in a journal's `bytes` (read once at start by the worker, which also
    /// runs its startup checks on them); `currentRun` is left out.
    public init(bytes: [UInt8], currentRun: String) {
        var index: [String: Int] = [:]
        var start = 0
        bytes.withUnsafeBufferPointer { all in
            while start < all.count {
                let end = all[start...].firstIndex(of: UInt8(ascii: "\n")) ?? all.count
                defer { start = end + 1 }
                guard end > start else { continue }
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                guard let event = try? Event.decode(line: line) else {
                    skipped += 1
                    continue
                }
                if firstMicros == nil { firstMicros = UTCTimestamp.parse(event.ts) }
                guard let seq = event.seq, event.runID != currentRun else { continue }
                let i: Int
                if let known = index[event.runID] {
                    i = known
                } else {
                    i = runs.count
                    index[event.runID] = i
                    runs.append((event.runID, []))
                }
                runs[i].lines.append(Line(seq: seq, bytes: Array(line) + [UInt8(ascii: "\n")]))
            }
        }
        if runs.count > Self.maxRuns { runs.removeFirst(runs.count - Self.maxRuns) }
    }
}
