/// The timers of one loop: what is scheduled, when, and which are due. Pure (the caller says what
/// time it is), shared by `Reactor` (the monotonic clock, or one injected) and `ManualReactor` (a
/// clock the test advances).
struct TimerQueue {
    struct Entry {
        var id: UInt64
        var deadline: Int64
        var body: () -> Void
    }

    private var entries: [Entry] = []
    private var nextID: UInt64 = 1

    var isEmpty: Bool { entries.isEmpty }

    /// Adds `body` to run at `deadline` (nanoseconds on the loop's clock).
    mutating func add(deadline: Int64, _ body: @escaping () -> Void) -> Reactor.TimerID {
        let id = nextID
        nextID += 1
        entries.append(Entry(id: id, deadline: deadline, body: body))
        return Reactor.TimerID(raw: id)
    }

    /// Removes a timer that has not run; does nothing otherwise.
    mutating func cancel(_ timer: Reactor.TimerID) {
        entries.removeAll { $0.id == timer.raw }
    }

    /// The earliest deadline, if any timer is scheduled.
    var earliestDeadline: Int64? { entries.min(by: { $0.deadline < $1.deadline })?.deadline }

    /// Removes and returns every timer due at `now`, earliest first (in scheduling order for equal
    /// deadlines). Timers added while these run wait for the next call.
    mutating func removeDue(at now: Int64) -> [Entry] {
        var due: [Entry] = []
        entries.removeAll { t in
            if t.deadline <= now {
                due.append(t)
                return true
            }
            return false
        }
        due.sort { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
        return due
    }

    /// Removes and returns the earliest timer due at `now` (the first scheduled among equals), or nil.
    mutating func removeEarliest(dueAt now: Int64) -> Entry? {
        var best: Int?
        for (i, t) in entries.enumerated() where t.deadline <= now {
            if let b = best, (entries[b].deadline, entries[b].id) <= (t.deadline, t.id) { continue }
            best = i
        }
        return best.map { entries.remove(at: $0) }
    }
}
