import Wire

/// The journal's integrity rules applied one line at a time (`event_log_integrity`,
/// docs/robot-worker.md): every line an event, no duplicate event ID (run_id and seq), seq
/// continuity within each run, and timestamps that go back within a run only at the `CLOCK_STEP`
/// that explains it. Pure: lines in, facts out; memory grows with the number of runs, never with
/// the number of lines.
///
/// Its `State` is what a verified prefix carries (`VerifiedPrefix`), so a start that trusts the
/// prefix (its checksum matched) goes on checking the tail exactly where the last check stopped.
/// Duplicate IDs across the prefix need no set of IDs: a run whose seqs were continuous so far has
/// seen exactly `firstSeq...lastSeq`, so a seq in that range is a duplicate. Only a run that
/// already broke continuity (a journal that fails anyway) keeps its seqs in a set.
public struct JournalVerifier: Sendable, Equatable {
    /// What one run's lines showed so far.
    public struct Run: Sendable, Equatable, Codable {
        public var runID: String
        public var firstSeq: Int64?
        public var lastSeq: Int64?
        /// The last timestamp of the run, in microseconds.
        public var lastMicros: Int64?
        /// Seqs seen by a run that broke continuity (nil while continuous).
        public var seen: Set<Int64>?

        enum CodingKeys: String, CodingKey {
            case seen
            case runID = "run_id"
            case firstSeq = "first_seq"
            case lastSeq = "last_seq"
            case lastMicros = "last_micros"
        }
    }

    /// Everything the rules and the start-up need from the lines checked so far.
    public struct State: Sendable, Equatable, Codable {
        /// Runs in the order they first appear.
        public var runs: [Run] = []
        public var lines = 0
        public var events = 0
        /// The highest fence of any event (fence memory).
        public var highestFence: Int64 = 0
        /// `client_order_id`s of `ORDER_PLACED` events at `highestFence`: a new run's fence is above
        /// it, so only these could be handed out again by a run at the same fence.
        public var orderIDs: Set<String> = []
        /// The first event's timestamp (the age rule of rotation).
        public var firstMicros: Int64?
        /// What the order desk needs of the journal's orders (`FenceMemory`, the venue's
        /// reconciliation), carried with the prefix so a start never reads it again:
        /// `client_order_id`s of every `ORDER_FILLED` (a fill is journaled once), ...
        public var filledOrderIDs: Set<String> = []
        /// ... `ORDER_PLACED` orders no answer followed yet (a crash between the journal and the snapshot), ...
        public var unanswered: [String: SimOrder] = [:]
        /// ... `accepted_at_utc` of accepted orders not yet filled, cancelled, rejected or timed out, ...
        public var acceptedAt: [String: String] = [:]
        /// ... and those orders whole (status `OPEN`, with `acceptedAtUTC`): the snapshot is not
        /// rewritten when an order is placed or accepted, so the journal carries them to the next start.
        public var accepted: [String: SimOrder] = [:]

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            runs = try c.decode([Run].self, forKey: .runs)
            lines = try c.decode(Int.self, forKey: .lines)
            events = try c.decode(Int.self, forKey: .events)
            highestFence = try c.decode(Int64.self, forKey: .highestFence)
            orderIDs = try c.decode(Set<String>.self, forKey: .orderIDs)
            firstMicros = try c.decodeIfPresent(Int64.self, forKey: .firstMicros)
            filledOrderIDs = try c.decodeIfPresent(Set<String>.self, forKey: .filledOrderIDs) ?? []
            unanswered = try c.decodeIfPresent([String: SimOrder].self, forKey: .unanswered) ?? [:]
            acceptedAt = try c.decodeIfPresent([String: String].self, forKey: .acceptedAt) ?? [:]
            accepted = try c.decodeIfPresent([String: SimOrder].self, forKey: .accepted) ?? [:]
        }

        enum CodingKeys: String, CodingKey {
            case runs, lines, events, unanswered, accepted
            case highestFence = "highest_fence"
            case orderIDs = "order_ids"
            case firstMicros = "first_micros"
            case filledOrderIDs = "filled_order_ids"
            case acceptedAt = "accepted_at"
        }

        /// Follows one event's effect on the orders (`filledOrderIDs`, `unanswered`, `acceptedAt`, `accepted`).
        public mutating func trackOrders(_ event: Event) {
            switch event.type {
            case EventType.orderPlaced.rawValue:
                if let o = FenceMemory.placedOrder(event) { unanswered[o.clientOrderID] = o }
            case EventType.orderAccepted.rawValue:
                guard let id = event.data["client_order_id"]?.stringValue else { return }
                let at = event.data["accepted_at_utc"]?.stringValue ?? ""
                acceptedAt[id] = at
                // The placed order as journaled (or, adopted with no ORDER_PLACED known, as the acceptance names it).
                if var o = unanswered.removeValue(forKey: id) ?? accepted[id] ?? FenceMemory.placedOrder(event) {
                    o.status = .open
                    o.acceptedAtUTC = at.isEmpty ? nil : at
                    accepted[id] = o
                }
            case EventType.orderFilled.rawValue, EventType.orderCancelled.rawValue, EventType.orderRejected.rawValue,
                EventType.orderTimeout.rawValue:
                guard let id = event.data["client_order_id"]?.stringValue else { return }
                unanswered[id] = nil
                acceptedAt[id] = nil
                accepted[id] = nil
                if event.type == EventType.orderFilled.rawValue { filledOrderIDs.insert(id) }
            default:
                return
            }
        }
    }

    public private(set) var state: State
    /// Problems found (at most `maxProblems` are kept).
    public private(set) var problems: [String] = []
    public static let maxProblems = 20
    private var index: [String: Int] = [:]

    public init(state: State = State()) {
        self.state = state
        for (i, run) in state.runs.enumerated() { index[run.runID] = i }
    }

    public var passed: Bool { problems.isEmpty }

    /// Checks one line (without its newline). Returns the event when the line is one.
    @discardableResult
    public mutating func check(line: UnsafeBufferPointer<UInt8>) -> Event? {
        state.lines += 1
        let lineNumber = state.lines
        if line.isEmpty { return nil }
        let event: Event
        do { event = try Event.decode(line: line) } catch {
            problem("line \(lineNumber) is not an event (\(error.reason.rawValue))")
            return nil
        }
        check(event: event, lineNumber: lineNumber)
        return event
    }

    /// Checks an event the worker itself wrote as the next line (the verified prefix follows the
    /// worker's own appends without reading them back).
    public mutating func check(writtenEvent event: Event) {
        state.lines += 1
        check(event: event, lineNumber: state.lines)
    }

    /// Checks one decoded event, the `lineNumber`th line.
    public mutating func check(event: Event, lineNumber: Int) {
        state.events += 1
        if event.fence > state.highestFence {
            state.highestFence = event.fence
            state.orderIDs.removeAll()
        }
        if event.type.hasPrefix("ORDER_") { state.trackOrders(event) }
        if event.fence == state.highestFence, event.type == EventType.orderPlaced.rawValue,
            let id = event.data["client_order_id"]?.stringValue
        {
            state.orderIDs.insert(id)
        }
        let ts = UTCTimestamp.parse(event.ts)
        if state.firstMicros == nil { state.firstMicros = ts }
        let i: Int
        if let known = index[event.runID] {
            i = known
        } else {
            i = state.runs.count
            index[event.runID] = i
            state.runs.append(Run(runID: event.runID))
        }
        var run = state.runs[i]
        defer { state.runs[i] = run }
        if let ts {
            if let previous = run.lastMicros, ts < previous, !StartupChecks.clockStepExplains(event, ts: ts, previous: previous) {
                problem("line \(lineNumber): timestamp \(event.ts) goes back in time in run \(event.runID)")
            }
            run.lastMicros = ts
        }
        guard let seq = event.seq else { return }
        let id = "\(event.runID)/\(seq)"
        if let first = run.firstSeq, let last = run.lastSeq {
            let duplicate = run.seen.map { $0.contains(seq) } ?? (first...last).contains(seq)
            if duplicate {
                problem("line \(lineNumber): duplicate event ID \(id)")
                return
            }
            if seq != last + 1 {
                problem("line \(lineNumber): run \(event.runID) jumps from seq \(last) to \(seq)")
                if run.seen == nil { run.seen = Set(first...last) }
            }
            run.seen?.insert(seq)
            run.lastSeq = max(seq, last)
            run.firstSeq = min(seq, first)
        } else {
            run.firstSeq = seq
            run.lastSeq = seq
        }
    }

    /// Whether enough problems were found to stop looking.
    public var full: Bool { problems.count >= Self.maxProblems }

    private mutating func problem(_ text: String) {
        if problems.count < Self.maxProblems { problems.append(text) }
    }

    /// The `event_log_integrity` result of the lines checked; `tornBytes` were cut before.
    public func result(tornBytes: Int, prefixNote: String = "") -> StartupChecks.Result {
        let torn = tornBytes > 0 ? "; a torn last line of \(tornBytes) bytes was cut" : ""
        let runsWithSeq = state.runs.filter { $0.lastSeq != nil }.count
        if problems.isEmpty {
            return StartupChecks.Result(
                name: StartupChecks.eventLogIntegrity, passed: true,
                detail: "\(state.events) events, \(runsWithSeq) runs\(torn)\(prefixNote)")
        }
        return StartupChecks.Result(
            name: StartupChecks.eventLogIntegrity, passed: false, detail: problems.prefix(5).joined(separator: "; ") + torn)
    }
}
