import Foundation
import Platform
import Wire

/// The shell of the snapshot's group commit: carries out what `GroupCommit` decides (the save
/// timer, encoding the state, the writer thread, the acks once a snapshot is on disk) and feeds it
/// the monotonic clock. Every decision is `GroupCommit`'s.
final class SnapshotCommitter {
    /// What one write holds: the applied seqs the snapshot holds, and the runs each connection is
    /// owed an ack for once it is on disk.
    struct Held {
        var durable: [String: [String: Int64]]
        var acks: [(client: ClientConnection, runs: [String])]
    }

    private let file: SnapshotFile
    private let reactor: Reactor
    private let writer: SnapshotWriter
    private var commit: GroupCommit<Held>
    /// Encodes again only the markets whose settled fields changed since the last snapshot.
    private var encoder = SnapshotEncoder()
    private var timer: Reactor.TimerID?
    /// Applied seq per market and run as the last saved snapshot holds it: what welcomes report
    /// and acks confirm.
    private(set) var durable: [String: [String: Int64]]
    /// Runs when the save timer fires: the server answers with `timerFired`.
    var onDue: () -> Void = {}

    init(file: SnapshotFile, reactor: Reactor, writer: SnapshotWriter, intervalSeconds: Double, loaded state: WatchdogState) {
        self.file = file
        self.reactor = reactor
        self.writer = writer
        commit = GroupCommit(settings: .init(intervalSeconds: intervalSeconds))
        var durable: [String: [String: Int64]] = [:]
        for name in state.markets.keys { durable[name] = state.applied(market: name) }
        self.durable = durable
    }

    /// The state changed: applied events, alerts, acknowledgements, or (`lazily`) only heartbeat
    /// times and counters.
    func markDirty(lazily: Bool = false) {
        perform(commit.markDirty(lazily: lazily, now: MonotonicClock.nowNanos()), state: nil, clients: [:])
    }

    /// Events wait for their ack: the next idle moment saves them.
    var wantsIdle: Bool { commit.wantsIdle }

    /// A snapshot is being written (its acks follow when it is on disk).
    var isWriting: Bool { commit.isWriting }

    /// Input paused: a group commit of the events waiting for their ack.
    func idle(state: WatchdogState, clients: [Int32: ClientConnection]) {
        perform(commit.idle(now: MonotonicClock.nowNanos()), state: state, clients: clients)
    }

    func timerFired(state: WatchdogState, clients: [Int32: ClientConnection]) {
        timer = nil
        perform(commit.timerFired(now: MonotonicClock.nowNanos()), state: state, clients: clients)
    }

    /// The writer finished: on success what the snapshot holds is durable and acked on every
    /// connection that delivered it; on failure everything waits for the retry.
    func written(_ result: Result<Void, SystemError>, state: WatchdogState, clients: [Int32: ClientConnection]) {
        let now = MonotonicClock.nowNanos()
        switch result {
        case .success: perform(commit.written(now: now, writeCPU: writer.lastWriteCPUNanos), state: state, clients: clients)
        case .failure(let error): perform(commit.writeFailed(now: now), state: state, clients: clients, failure: error)
        }
    }

    /// Waits for the write in flight, if any, and ends the writer's thread (for the final snapshot).
    func finish() { writer.finish() }

    private func perform(
        _ actions: [GroupCommit<Held>.Action], state: WatchdogState?, clients: [Int32: ClientConnection], failure: SystemError? = nil
    ) {
        for action in actions {
            switch action {
            case .timer(let due):
                if let timer { reactor.cancel(timer) }
                timer = due.map { due in
                    reactor.schedule(afterNanos: max(0, due - MonotonicClock.nowNanos())) { [unowned self] in self.onDue() }
                }
            case .encode:
                guard let state else { preconditionFailure("GroupCommit asked to encode outside a save") }
                encode(state, clients: clients)
            case .acknowledge(let held):
                durable = held.durable
                for (client, runs) in held.acks where !client.line.isClosed {
                    guard let market = client.market else { continue }
                    for run in runs {
                        if let seq = durable[market]?[run], seq > 0 { client.line.send(Ack(runID: run, seq: seq).line) }
                    }
                }
            case .failed(let owed):
                let error = failure.map { "\($0)" } ?? "?"
                Diagnostics.note("\(file.path): cannot save the snapshot: \(error); retrying in 1 s, nothing is acked meanwhile")
                for (client, runs) in owed?.acks ?? [] where !client.line.isClosed { for run in runs { client.delivered(run: run) } }
            case .slowWrite(let seconds):
                Diagnostics.note(
                    "\(file.path): the snapshot write has not finished after \(seconds) s; nothing is acked until it does (is the disk stuck?)"
                )
            case .slowWriteFinished(let millis):
                Diagnostics.note("\(file.path): the slow snapshot write finished after \(millis) ms")
            }
        }
    }

    /// Encodes the state and hands it to the writer; an encoding that fails is a failed save.
    private func encode(_ state: WatchdogState, clients: [Int32: ClientConnection]) {
        let started = MonotonicClock.nowNanos()
        let data: [UInt8]
        do {
            data = try encoder.encode(state, savedAtUTC: WatchdogInstant.now().utc)
        } catch {
            perform(commit.encodeFailed(now: MonotonicClock.nowNanos()), state: nil, clients: [:], failure: error)
            return
        }
        let took = MonotonicClock.nowNanos() - started
        var held = Held(durable: [:], acks: [])
        for name in state.markets.keys { held.durable[name] = state.applied(market: name) }
        for client in clients.values where !client.runsToAck.isEmpty { held.acks.append((client, client.takeRunsToAck())) }
        commit.began(held, at: started, took: took)
        writer.start(data)
    }
}
