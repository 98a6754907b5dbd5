import Observability
import Platform
import Wire

/// Stamps a run's events with the envelope (market, run, pid, fence, seq, time), journals each one
/// and then hands its line to `forward` (the connection to the watchdog).
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

    /// Journals one event and forwards it. Returns the event, or nil when the journal write failed.
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
        do {
            try journal.append(line)
        } catch {
            writeFailures += 1
            lastWriteError = error
            metrics?.journalWriteFailed()
            onWrite?(false)
            return nil
        }
        onWrite?(true)
        if !isHeartbeat { lastSeq += 1 }
        let synced = journal.completedSyncs > syncsReported
        syncsReported = journal.completedSyncs
        metrics?.journaled(event, fsyncNanos: synced ? journal.lastSyncNanos : nil, journalSize: journal.size)
        forward?(event, line)
        return event
    }
}
