import Platform
import Wire

/// One accepted connection to the watchdog and what the server knows of it: its role once the
/// hello is in, the runs it delivered events of (to be acked after the next snapshot), and the
/// rejection reasons already logged for it (each is logged once per connection, counted always).
final class ClientConnection {
    enum Role: Equatable {
        /// No hello yet; closed at the hello timeout.
        case pending
        case worker(market: String, runID: String)
        case `operator`

        /// The run the worker's hello named.
        var runID: String? {
            if case .worker(_, let runID) = self { return runID }
            return nil
        }
    }

    let serial: Int
    let line: LineConnection
    var role: Role = .pending
    var helloTimer: Reactor.TimerID?
    /// Runs this connection delivered (applied or duplicate) events of since the last ack.
    private(set) var runsToAck: Set<String> = []
    /// The run last added to `runsToAck`: a stream of one run's events costs one comparison
    /// each, not a hash and a set lookup.
    private var lastRunToAck: String?
    /// The hello asked for `applied` notices.
    var wantsAppliedNotices = false
    /// Runs applied since the last `applied` notice, with their applied seq.
    var appliedToNotify: [(runID: String, seq: Int64)] = []
    /// The earlier runs the worker's hello named (`resume_runs`).
    var resumeRuns: Set<String> = []
    /// The fence the worker's hello claimed, verified against the kernel's lock table (0: a
    /// refused worker, which may deliver only its own run's fence-0 events).
    var helloFence: Int64 = 0
    private var loggedReasons: Set<RejectionReason> = []

    init(serial: Int, line: LineConnection) {
        self.serial = serial
        self.line = line
    }

    /// The market the hello bound this connection to, if any.
    var market: String? {
        if case .worker(let market, _) = role { return market }
        return nil
    }

    /// Notes that this connection delivered an event of `run` (applied or a duplicate).
    func delivered(run: String) {
        if run == lastRunToAck { return }
        runsToAck.insert(run)
        lastRunToAck = run
    }

    /// Notes, for the next `applied` notice, that `run` is applied up to `seq`.
    func applied(run: String, seq: Int64) {
        guard wantsAppliedNotices else { return }
        if let last = appliedToNotify.indices.last, appliedToNotify[last].runID == run {
            appliedToNotify[last].seq = seq
        } else if let i = appliedToNotify.firstIndex(where: { $0.runID == run }) {
            appliedToNotify[i].seq = seq
        } else {
            appliedToNotify.append((run, seq))
        }
    }

    /// The runs to ack after a snapshot, sorted; forgets them.
    func takeRunsToAck() -> [String] {
        defer {
            runsToAck.removeAll()
            lastRunToAck = nil
        }
        return runsToAck.sorted()
    }

    /// True the first time `reason` is seen on this connection: log it then, count it always.
    func shouldLog(_ reason: RejectionReason) -> Bool { loggedReasons.insert(reason).inserted }

    /// Names the connection in log lines: serial, peer pid and uid, role.
    var label: String {
        let peer = line.peer.map { "pid \($0.pid) uid \($0.uid)" } ?? "unknown peer"
        switch role {
        case .pending: return "connection \(serial) (\(peer))"
        case .worker(let market, let runID): return "connection \(serial) (\(peer), worker \(market) run \(runID))"
        case .operator: return "connection \(serial) (\(peer), operator)"
        }
    }
}
