import Guard
import Logging
import Platform
import Wire

/// The running worker's side of the order gate (`OrderGate`): raises the fence when the market's
/// history already used it, feeds the gate the identity checks and what the watchdog said, and
/// journals `ORDER_GATE_STATUS` whenever the set of refusals changes (docs/robot-worker.md,
/// "Order gates" and "Fence memory"). Runs on the worker's reactor thread.
final class GateKeeper {
    private let engine: Engine
    private let log: EventLog
    private let lock: any HeldMarketGuard
    private var streams: [String]
    private let note: (String, String, Logger.Level) -> Void
    /// The refusals last journaled (`ORDER_GATE_STATUS`).
    private var published: [String]?
    /// Called after a raise that needs a new hello (the welcome named the mark).
    var reconnect: (() -> Void)?

    init(
        engine: Engine, log: EventLog, lock: any HeldMarketGuard, streams: [String], note: @escaping (String, String, Logger.Level) -> Void
    ) {
        self.engine = engine
        self.log = log
        self.lock = lock
        self.streams = streams
        self.note = note
    }

    /// The watchdog named its high-water mark (`refused`: in the refusal of this worker's hello).
    func highWater(_ mark: Int64, refused: Bool) {
        // A welcome admitted this run's hello, so a mark equal to its fence is this run's own (the
        // watchdog refuses a hello that is not above another run's mark): nothing to raise. Without
        // this, every watchdog restart would raise the fence of every running worker.
        if log.fence > mark || (!refused && log.fence == mark) {
            engine.gate.fence = .confirmed
            publish()
            return
        }
        let from = log.fence
        do {
            try Self.raise(lock: lock, log: log, to: mark + 1)
        } catch {
            engine.gate.fence = .regressed(fence: from, highWater: mark, why: "\(error)")
            note(
                "\(log.market): fence \(from) is not above the watchdog's high-water mark \(mark) and cannot be raised: \(error); no new orders",
                EventType.fenceRaised.rawValue, .critical)
            publish()
            return
        }
        engine.raiseFence(to: log.fence)
        Self.journalRaise(log: log, lock: lock, from: from, source: "watchdog", highWater: mark, note: note)
        engine.gate.fence = .confirmed
        publish()
        if !refused { reconnect?() }
    }

    /// The watchdog could not be reached at start: the journal's and snapshot's fences (already
    /// raised above at start) are the only memory; the worker trades on its fence.
    func unreachableAtStart() {
        guard case .awaitingWatchdog = engine.gate.fence else { return }
        engine.gate.fence = .confirmed
        note(
            "\(log.market): the watchdog was not reachable at start; trading on fence \(log.fence), above every fence in the market's journal and snapshot",
            "FENCE_UNCONFIRMED_BY_WATCHDOG", .warning)
        publish()
    }

    /// The latest identity check.
    func identity(_ invariants: IdentityInvariants) {
        engine.gate.identity(invariants)
        streams = invariants.streamIDs
        publish()
    }

    /// Journals `ORDER_GATE_STATUS` when the refusals changed (always the first time).
    func publish() {
        let now = engine.gate.refusals(streams: streams)
        guard now != published else { return }
        // The wait for the watchdog's welcome at start is routine: journaled, not logged.
        let routine = { (lines: [String]) in lines.allSatisfy { $0.hasPrefix("*: \(OrderGate.fenceUnconfirmed)") } }
        let worthALine = !routine(now) || !routine(published ?? [])
        published = now
        log.emit(
            .orderGateStatus,
            ["refusing": .bool(!now.isEmpty), "refusals": .strings(now), "identity_gates_orders": .bool(engine.gate.identityGates)])
        if worthALine {
            note(
                now.isEmpty
                    ? "\(log.market): the order gate is open again" : "\(log.market): new orders refused: " + now.joined(separator: " | "),
                EventType.orderGateStatus.rawValue, now.isEmpty ? .notice : .error)
        }
    }

    /// Journals a raise: `FENCE_RAISED`, with the alert's words (the lock folder lost its fences).
    static func journalRaise(
        log: EventLog, lock: any HeldMarketGuard, from: Int64, source: String, highWater: Int64,
        note: (String, String, Logger.Level) -> Void
    ) {
        let why =
            "the lock folder lost its fences: it handed out fence \(from), but the \(source == "watchdog" ? "watchdog has seen" : "market's journal and snapshot hold") "
            + "fence \(highWater); raised to \(log.fence) before any order"
        log.emit(
            .fenceRaised,
            [
                "from": .int(from), "to": .int(log.fence), "high_water": .int(highWater), "source": .string(source),
                "lock_file": .string(lock.path),
                "reason": .string(why),
            ])
        note("\(log.market): \(why)", EventType.fenceRaised.rawValue, .critical)
    }

    /// Raises the held lock's fence to `fence` (fence file and record, durably), then the log's.
    static func raise(lock: any HeldMarketGuard, log: EventLog, to fence: Int64) throws(SystemError) {
        try lock.raiseFence(to: fence)
        log.fence = lock.record.fence
    }
}
