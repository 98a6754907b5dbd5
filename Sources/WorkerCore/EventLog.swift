import Observability
import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Stamps a run's events with the envelope (market, run, pid, fence, seq, time), journals each one
/// and then hands its line to `forward` (the connection to the watchdog).
///
/// Group commit (`enableGroupCommit`, on once the worker's loop runs): the events emitted during
/// one loop iteration are written with one `write` and made durable with one `fdatasync` at the
/// end of the iteration (`commit`); only then is any of them forwarded, and `commit` runs before
/// anything that must follow its lines (the snapshot, the clean stop). Before that, each event is
/// written and synced on its own. A commit that fails keeps its lines (their seqs stay theirs) and
/// is tried again at the next commit; while it fails, at most `maxHeldBytes` wait, and an event
/// past that is refused as a failed write is.
///
/// `seq` goes 1, 2, 3… with no gaps on every event but `HEARTBEAT`; a heartbeat carries the last
/// seq sent in `data.last_seq` instead. A line that could not be journaled is not forwarded: the
/// journal is the outbox, and an event that is not in it did not happen.
///
/// Timestamps are wall clock and may step either way; a step of more than a second against the
/// monotonic clock (`ClockStepWatch`) is journaled as `CLOCK_STEP` (stamped with the new time)
/// before the event that saw it.
public final class EventLog {
    public let market: String
    public let runID: String
    public let pid: Int32
    /// 0 until the lock is held (a refused worker's events carry fence 0: "not a holder").
    public var fence: Int64 = 0
    public private(set) var lastSeq: Int64 = 0
    public private(set) var writeFailures = 0
    /// The last journal error, for the log and the status line.
    public private(set) var lastWriteError: SystemError?
    public var forward: ((Event, [UInt8]) -> Void)?
    /// Told whether each journal write succeeded (the engine's health and fail-safe watch it).
    public var onWrite: ((Bool) -> Void)?
    /// Told of every journaled event and failed write (nil: no metrics).
    public var metrics: WorkerMetrics?

    private let journal: Journal
    private let clock: () -> Int64
    private let monotonic: () -> Int64
    private var steps = ClockStepWatch()
    private var unjournaledStep: ClockStepWatch.Step?
    /// The journal's completed syncs already reported to the metrics.
    private var syncsReported: Int
    /// Group commit: lines emitted since the last commit, and their events (nil schedule: off).
    private var batch: [UInt8] = []
    private var batchEvents: [Event] = []
    private var scheduleCommit: ((@escaping () -> Void) -> Void)?
    private var commitScheduled = false
    private var commitFailing = false
    /// Lines that may wait while commits fail, before new events are refused.
    public static let maxHeldBytes = 4 << 20
    /// Told of every durable batch: its bytes (whole lines, in journal order) and its events.
    public var onDurable: (([UInt8], [Event]) -> Void)?
    /// Emitted events whose lines are not durable yet.
    public var uncommitted: Int { batchEvents.count }

    /// `clock` is the wall clock (microseconds), `monotonic` the monotonic clock (nanoseconds).
    public init(
        market: String, runID: String, pid: Int32, journal: Journal, clock: @escaping () -> Int64 = UTCTimestamp.nowMicros,
        monotonic: @escaping () -> Int64 = MonotonicClock.nowNanos
    ) {
        self.market = market
        self.runID = runID
        self.pid = pid
        self.journal = journal
        self.clock = clock
        self.monotonic = monotonic
        _ = steps.observe(wallMicros: clock(), monotonicNanos: monotonic())
        syncsReported = journal.completedSyncs
    }

    /// Turns group commit on: `schedule` runs its closure at the end of the current loop iteration
    /// (the worker's reactor: a timer due now). Commits what waits first.
    public func enableGroupCommit(_ schedule: @escaping (@escaping () -> Void) -> Void) {
        scheduleCommit = schedule
    }

    /// Writes and syncs every line emitted since the last commit, then forwards their events in
    /// order. Nothing is forwarded before its line is durable.
    public func commit() {
        commitScheduled = false
        guard !batchEvents.isEmpty else { return }
        do {
            try journal.append(batch)
        } catch {
            writeFailed(error)
            commitFailing = true
            return
        }
        commitFailing = false
        let (bytes, events) = (batch, batchEvents)
        batch.removeAll(keepingCapacity: true)
        batchEvents.removeAll(keepingCapacity: true)
        onWrite?(true)
        durable(bytes, events)
    }

    /// Journals one event and forwards it. Returns the event, or nil when the journal write failed.
    /// With group commit on, the event is journaled (and forwarded) at the end of the iteration.
    @discardableResult
    public func emit(_ type: EventType, _ data: JSONObject) -> Event? {
        let micros = clock()
        if let step = steps.observe(wallMicros: micros, monotonicNanos: monotonic()) { unjournaledStep = step }
        if let step = unjournaledStep {
            // A step the journal refused (a full disk) is tried again before the next event; the
            // event goes in only after it, so no timestamp in the journal is left unexplained.
            guard append(.clockStep, step.data, micros: step.toMicros) != nil else { return nil }
            unjournaledStep = nil
        }
        return append(type, data, micros: micros)
    }

    @discardableResult
    private func append(_ type: EventType, _ data: JSONObject, micros: Int64) -> Event? {
        let isHeartbeat = type == .heartbeat
        var data = data
        if isHeartbeat { data["last_seq"] = .int(lastSeq) }
        let event = Event(
            type: type.rawValue, market: market, runID: runID, pid: pid, fence: fence,
            seq: isHeartbeat ? nil : lastSeq + 1, ts: UTCTimestamp.format(micros: micros), data: data)
        let line = event.encodedLine()
        if let scheduleCommit {
            if commitFailing, batch.count + line.count > Self.maxHeldBytes {
                writeFailed(lastWriteError ?? SystemError("journal commit", code: EIO))
                return nil
            }
            batch.append(contentsOf: line)
            batchEvents.append(event)
            if !isHeartbeat { lastSeq += 1 }
            if !commitScheduled {
                commitScheduled = true
                scheduleCommit { [weak self] in self?.commit() }
            }
            return event
        }
        do {
            try journal.append(line)
        } catch {
            writeFailed(error)
            return nil
        }
        onWrite?(true)
        if !isHeartbeat { lastSeq += 1 }
        durable(line, [event])
        return event
    }

    private func writeFailed(_ error: SystemError) {
        writeFailures += 1
        lastWriteError = error
        metrics?.journalWriteFailed()
        onWrite?(false)
    }

    /// Lines that reached the disk: counted, forwarded one by one, then told to `onDurable`.
    private func durable(_ bytes: [UInt8], _ events: [Event]) {
        let synced = journal.completedSyncs > syncsReported
        syncsReported = journal.completedSyncs
        let size = journal.size
        for (i, event) in events.enumerated() {
            metrics?.journaled(event, fsyncNanos: synced && i == 0 ? journal.lastSyncNanos : nil, journalSize: size)
        }
        if let forward {
            if events.count == 1 {
                forward(events[0], bytes)
            } else {
                var start = 0
                bytes.withUnsafeBufferPointer { all in
                    for event in events {
                        let end = all[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? all.count
                        forward(event, Array(all[start..<end]))
                        start = end
                    }
                }
            }
        }
        // After the forwards: the link counts these events as un-acked before it decides on rotation.
        onDurable?(bytes, events)
    }
}
