/// When the watchdog writes its snapshot, as a pure state machine: the moment (monotonic
/// nanoseconds) and what happened go in, actions come out; it reads no clock, touches no file and
/// arms no timer itself, so every rule below is tested in microseconds (GroupCommitTests).
///
/// The rules (docs/watchdog.md, "Files"):
/// - An event is acked only once a snapshot holding it is on disk: `acknowledge(held)` comes out
///   only after the write of `held` succeeded.
/// - Applied events wait at most `interval` for their snapshot under constant input, and less when
///   input pauses (`idle`: a group commit of whatever arrived). Heartbeat times and rejection
///   counters (nothing waits on them) wait up to `lazy`.
/// - Spacing: no snapshot is encoded sooner than `spacing` times the last save's cost (its
///   encoding on the loop plus the writer thread's CPU time for its write) after that encoding
///   began, so at most about a tenth of a core goes to snapshots, however cheap encoding gets
///   (with 1,000 quiet markets a snapshot's write costs more CPU than its encoding).
/// - One write in flight at most; a save asked for meanwhile follows when it ends.
/// - A failed encoding or write is retried `retry` later (nothing is acked meanwhile, and the
///   runs it owed acks for are owed again); until a write succeeds, idle moments do not save.
/// - A write in flight longer than `slowWrite` is reported once (when a save finds it still
///   busy), and again when it ends.
///
/// ```
///  clean ──markDirty──▶ dirty(until) ──timer/idle──▶ encode ──began──▶ writing ──written──▶ acknowledge
///                          ▲                                              │
///                          └──────────── failing: dirty(until now+retry) ◀─ writeFailed
/// ```
///
/// `Held` is what a write carries for the shell (the applied seqs it holds and the acks it owes);
/// the machine only hands it back.
struct GroupCommit<Held> {
    struct Settings: Equatable {
        /// `watchdog.snapshot_interval_seconds`, in nanoseconds.
        var interval: Int64
        /// The longest a lazy change (a heartbeat, a counter) waits.
        var lazy: Int64
        /// A snapshot begins no sooner than this many encoding durations after the last one began.
        var spacing: Int64 = 10
        /// A failed save is retried after this.
        var retry: Int64 = 1_000_000_000
        /// A write in flight longer than this is reported.
        var slowWrite: Int64 = 5_000_000_000

        /// Lazy changes are saved within `lazySeconds` (2 s: saving the whole state for each
        /// heartbeat of 200 markets cost the idle watchdog about 5 % of a core), or within the
        /// interval when that is longer.
        static var lazySeconds: Double { 2.0 }

        init(intervalSeconds: Double) {
            interval = Int64(intervalSeconds * 1e9)
            lazy = Int64(max(Self.lazySeconds, intervalSeconds) * 1e9)
        }
    }

    enum Action {
        /// Arm the one save timer at this moment, replacing any armed one; nil: disarm it. When it
        /// fires, call `timerFired`.
        case timer(at: Int64?)
        /// Encode the state now, then call `began` (with what the write holds) and hand the bytes
        /// to the writer, or call `encodeFailed`, before anything else.
        case encode
        /// The write holding `Held` is on disk: what it holds is durable; ack it.
        case acknowledge(Held)
        /// The save failed (`owed`: the write's acks, owed again; nil when encoding failed). Log
        /// it; the retry is already scheduled.
        case failed(owed: Held?)
        /// The write in flight has not finished after this many seconds (once per write).
        case slowWrite(seconds: Int64)
        /// The slow write finished after this many milliseconds.
        case slowWriteFinished(millis: Int64)
    }

    /// What is not yet in a snapshot.
    enum Pending: Equatable {
        case clean
        /// Changes wait for a snapshot, due at `until` (nil: when the write in flight ends).
        /// `eventsWaiting`: applied events, alerts or acknowledgements, which acks or operators
        /// wait on (not only heartbeats and counters).
        case dirty(until: Int64?, eventsWaiting: Bool)
    }

    /// The write in flight.
    struct Write {
        var held: Held
        var started: Int64
        /// Began while the last save was failing: idle moments still do not save.
        var afterFailure: Bool
        /// A save was asked for meanwhile: it follows when this write succeeds.
        var followUp = false
        var slowReported = false
    }

    enum Disk {
        case idle
        case writing(Write)
        /// The last save failed; its retry is scheduled.
        case failing
    }

    let settings: Settings
    private(set) var pending: Pending = .clean
    private(set) var disk: Disk = .idle
    /// When the last encoding began, and the CPU its save cost: the loop's time encoding it, plus
    /// the writer thread's CPU time once its write is done.
    private(set) var lastStarted: Int64 = 0
    private(set) var lastEncodeTook: Int64 = 0

    init(settings: Settings) {
        self.settings = settings
    }

    /// When the save timer should fire, if at all.
    var due: Int64? {
        if case .dirty(let until, _) = pending { return until }
        return nil
    }

    var isWriting: Bool {
        if case .writing = disk { return true }
        return false
    }

    /// `idle` would save: applied events, alerts or acknowledgements wait and the last save did not
    /// fail. The shell asks before it looks for an idle moment, and does not look otherwise (at
    /// rest, a heartbeat's wakeup then costs one system call less).
    var wantsIdle: Bool {
        guard case .dirty(_, true) = pending else { return false }
        return !isFailing
    }

    /// The last save failed and no write has succeeded since.
    var isFailing: Bool {
        switch disk {
        case .failing: return true
        case .writing(let w): return w.afterFailure
        case .idle: return false
        }
    }

    // MARK: inputs

    /// The state changed: applied events, alerts, acknowledgements (`lazily: false`), or only
    /// heartbeat times and counters (`lazily: true`).
    mutating func markDirty(lazily: Bool = false, now: Int64) -> [Action] {
        let before = due
        switch pending {
        case .clean: pending = .dirty(until: nil, eventsWaiting: !lazily)
        case .dirty(let until, let waiting): pending = .dirty(until: until, eventsWaiting: waiting || !lazily)
        }
        schedule(at: now + (lazily ? settings.lazy : settings.interval))
        return timerChange(from: before)
    }

    /// Input paused (the loop is idle): events waiting for their ack are saved now, or as soon as
    /// the spacing allows.
    mutating func idle(now: Int64) -> [Action] {
        guard wantsIdle else { return [] }
        return save(now: now, armed: due)
    }

    /// The save timer fired (it is no longer armed).
    mutating func timerFired(now: Int64) -> [Action] { save(now: now, armed: nil) }

    /// After `.encode`: the state is encoded; the encoding began at `started` and took `took`.
    /// `held` is what the write holds.
    mutating func began(_ held: Held, at started: Int64, took: Int64) {
        lastStarted = started
        lastEncodeTook = took
        disk = .writing(Write(held: held, started: started, afterFailure: isFailing))
        pending = .clean
    }

    /// After `.encode`: encoding failed.
    mutating func encodeFailed(now: Int64) -> [Action] {
        failed(owed: nil, now: now)
    }

    /// The write in flight is on disk; the writer thread spent `writeCPU` nanoseconds of CPU on
    /// it (counted in the spacing).
    mutating func written(now: Int64, writeCPU: Int64 = 0) -> [Action] {
        guard case .writing(let write) = disk else { return [] }
        disk = .idle
        lastEncodeTook += max(0, writeCPU)
        var actions = finishedReport(write, now: now)
        actions.append(.acknowledge(write.held))
        if write.followUp { actions += save(now: now, armed: due) }
        return actions
    }

    /// The write in flight failed.
    mutating func writeFailed(now: Int64) -> [Action] {
        guard case .writing(let write) = disk else { return [] }
        return finishedReport(write, now: now) + failed(owed: write.held, now: now)
    }

    // MARK: rules

    /// Encodes unless clean; too soon after the last encoding it is put off until the spacing
    /// allows; with a write in flight, it follows when that one ends. `armed`: the timer the
    /// shell has armed now.
    private mutating func save(now: Int64, armed before: Int64?) -> [Action] {
        guard case .dirty(_, let waiting) = pending else { return timerChange(from: before) }
        pending = .dirty(until: nil, eventsWaiting: waiting)
        let allowed = lastStarted + settings.spacing * lastEncodeTook
        guard now >= allowed else {
            schedule(at: allowed)
            return timerChange(from: before)
        }
        guard case .writing(var write) = disk else { return timerChange(from: before) + [.encode] }
        write.followUp = true
        var actions = timerChange(from: before)
        let inFlight = now - lastStarted
        if !write.slowReported, inFlight > settings.slowWrite {
            write.slowReported = true
            actions.append(.slowWrite(seconds: inFlight / 1_000_000_000))
        }
        disk = .writing(write)
        return actions
    }

    private mutating func failed(owed: Held?, now: Int64) -> [Action] {
        let before = due
        disk = .failing
        if case .dirty(let until, _) = pending {
            pending = .dirty(until: until, eventsWaiting: true)
        } else {
            pending = .dirty(until: nil, eventsWaiting: true)
        }
        schedule(at: now + settings.retry)
        return [.failed(owed: owed)] + timerChange(from: before)
    }

    private func finishedReport(_ write: Write, now: Int64) -> [Action] {
        write.slowReported ? [.slowWriteFinished(millis: (now - lastStarted) / 1_000_000)] : []
    }

    /// Has the save happen at `moment` unless one is due sooner. Only while dirty.
    private mutating func schedule(at moment: Int64) {
        guard case .dirty(let until, let waiting) = pending else { return }
        if let until, until <= moment { return }
        pending = .dirty(until: moment, eventsWaiting: waiting)
    }

    private func timerChange(from before: Int64?) -> [Action] {
        due == before ? [] : [.timer(at: due)]
    }
}
