import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The supervision of one market as a pure state machine (`SupervisionState` draws it).
///
/// Feed it events with the time they happened (`now`, seconds on a monotonic clock); each call
/// returns the actions to carry out. It owns no process, socket or timer: the shell calls `tick(now:)`
/// at `nextDeadline` and reports spawns and exits back. Everything it decides is testable with an
/// injected clock and random source.
///
/// Timeouts, as systemd applies them:
/// - start: no `READY=1` within `startTimeout` → SIGKILL to the process group, a failed start;
/// - watchdog: while RUNNING, no `WATCHDOG=1` within `watchdog` → SIGABRT to the worker, SIGKILL to
///   its group after `watchdogKillGrace`, then the restart policy;
/// - stop: SIGTERM to the group, SIGKILL after `stopTimeout`.
public struct MarketSupervisor {
    /// Why a worker is being ended, which decides what its exit leads to.
    public enum StopIntent: Sendable, Equatable {
        /// An operator's stop, a removal from the configuration or the supervisor's shutdown: STOPPED.
        case stop
        /// An operator's restart: start again at once.
        case restart
        /// The watchdog found it hung: a failure for the restart policy.
        case watchdog
        /// No READY=1 in time: a failed start for the restart policy.
        case startTimeout
    }

    /// The last run's end, for status.
    public struct LastExit: Sendable, Equatable {
        public var exit: WorkerExit
        /// When it was seen (the machine's clock).
        public var at: Double
        public var uptime: Double
        /// The supervisor's reason when it ended the run itself (`watchdog timeout`), else nil.
        public var reason: String?
    }

    public let market: String
    public private(set) var state: SupervisionState = .stopped
    public private(set) var pid: Int32?
    /// When the current worker was spawned, and when it became ready.
    public private(set) var startedAt: Double?
    public private(set) var readyAt: Double?
    /// Automatic restarts since the supervisor started or an operator last started the market.
    public private(set) var restarts = 0
    public private(set) var lastExit: LastExit?
    /// The worker's last `STATUS=` text.
    public private(set) var workerStatus: String?
    /// Set in FATAL: what an operator must know.
    public private(set) var alert: String?
    public private(set) var stopIntent: StopIntent?
    public private(set) var policy: RestartPolicy

    private var startDeadline: Double?
    private var watchdogDeadline: Double?
    private var killDeadline: Double?
    /// In BACKOFF: when the next start is due.
    public private(set) var restartAt: Double?
    private var random: () -> Double

    /// `random` returns a uniform number in 0...1 for the backoff jitter.
    public init(market: String, settings: SupervisorSettings, random: @escaping () -> Double = { Double.random(in: 0...1) }) {
        self.market = market
        self.policy = RestartPolicy(settings: settings)
        self.random = random
    }

    public var settings: SupervisorSettings { policy.settings }

    /// New settings from a configuration reload; they apply from the next deadline set.
    public mutating func update(settings: SupervisorSettings) { policy.settings = settings }

    /// The earliest time `tick(now:)` has something to do, or nil.
    public var nextDeadline: Double? {
        [startDeadline, watchdogDeadline, killDeadline, restartAt].compactMap { $0 }.min()
    }

    // MARK: events

    /// Starts the market. `byOperator` (a `start` request) also takes it out of BLOCKED or FATAL and
    /// forgets its restarts; the automatic start at launch or after a reload passes false.
    public mutating func start(now: Double, byOperator: Bool) -> [SupervisorAction] {
        switch state {
        case .starting, .running:
            return []
        case .stopping:
            if stopIntent == .stop || byOperator { stopIntent = .restart }
            if byOperator { resetRestarts() }
            return []
        case .stopped, .backoff, .blocked, .fatal:
            if byOperator { resetRestarts() }
            restartAt = nil
            state = .starting
            return [.spawn]
        }
    }

    /// The worker is running as `pid`.
    public mutating func spawned(pid: Int32, now: Double) -> [SupervisorAction] {
        self.pid = pid
        startedAt = now
        readyAt = nil
        workerStatus = nil
        startDeadline = now + settings.startTimeout
        let attempt = restarts > 0 ? " (restart \(restarts))" : ""
        return [.log("\(market) pid \(pid) started\(attempt); waiting up to \(SecondsText.format(settings.startTimeout)) for READY=1")]
    }

    /// The worker could not be spawned at all: a failed start.
    public mutating func spawnFailed(_ detail: String, now: Double) -> [SupervisorAction] {
        pid = nil
        startedAt = now
        return failed(
            .spawnFailed(detail), now: now, uptime: 0, served: 0, head: "\(market) \(WorkerExit.spawnFailed(detail).description)",
            reason: nil)
    }

    /// A datagram from the worker's pid on the notify socket.
    public mutating func notify(_ message: NotifyMessage, now: Double) -> [SupervisorAction] {
        guard let pid else { return [] }
        var actions: [SupervisorAction] = []
        if let status = message.status { workerStatus = status }
        if message.ready, state == .starting {
            state = .running
            readyAt = now
            startDeadline = nil
            watchdogDeadline = now + settings.watchdog
            let after = startedAt.map { " after " + SecondsText.format(now - $0) } ?? ""
            actions.append(.log("\(market) pid \(pid) ready\(after); RUNNING"))
        }
        if message.watchdog, state == .running {
            watchdogDeadline = now + settings.watchdog
        }
        if message.watchdogTrigger, state == .running {
            actions += watchdogTimeout(now: now, why: "asked for a watchdog timeout (WATCHDOG=trigger)")
        }
        return actions
    }

    /// The worker ended (reaped by the shell).
    public mutating func exited(_ exit: WorkerExit, now: Double) -> [SupervisorAction] {
        guard let oldPid = pid else { return [] }
        let uptime = startedAt.map { now - $0 } ?? 0
        // What the restart policy calls up: the time since READY=1. A worker that never became
        // ready was never up, however long it took to fail.
        let served = readyAt.map { now - $0 } ?? 0
        let head = "\(market) pid \(oldPid) \(exit.description) after \(SecondsText.format(uptime))"
        pid = nil
        startDeadline = nil
        watchdogDeadline = nil
        killDeadline = nil
        readyAt = nil
        let intent = stopIntent
        stopIntent = nil
        switch (state, intent) {
        case (.stopping, .stop?):
            record(exit, now: now, uptime: uptime, reason: "stopped")
            state = .stopped
            return [.log(head + "; STOPPED")]
        case (.stopping, .restart?):
            record(exit, now: now, uptime: uptime, reason: "restart")
            state = .starting
            return [.log(head + "; restarting now (operator restart)"), .spawn]
        case (.stopping, .watchdog?):
            return failed(exit, now: now, uptime: uptime, served: served, head: head, reason: "watchdog timeout")
        case (.stopping, .startTimeout?):
            return failed(exit, now: now, uptime: uptime, served: served, head: head, reason: "start timeout")
        default:
            if exit.exitCode == WorkerExit.alreadyActiveStatus {
                record(exit, now: now, uptime: uptime, reason: nil)
                state = .blocked
                return [.log(head + "; BLOCKED, not restarting until an operator starts it")]
            }
            return failed(exit, now: now, uptime: uptime, served: served, head: head, reason: nil)
        }
    }

    /// Stops the market: SIGTERM to the worker's group, SIGKILL after `stopTimeout`; a market with no
    /// worker (BACKOFF, BLOCKED, FATAL) is STOPPED at once.
    public mutating func stop(now: Double) -> [SupervisorAction] {
        switch state {
        case .starting, .running:
            guard let pid else { return [] }
            state = .stopping
            stopIntent = .stop
            startDeadline = nil
            watchdogDeadline = nil
            killDeadline = now + settings.stopTimeout
            return [
                .signalGroup(SIGTERM),
                .log(
                    "\(market) pid \(pid): stopping (SIGTERM to its process group, SIGKILL in \(SecondsText.format(settings.stopTimeout)))"),
            ]
        case .stopping:
            stopIntent = .stop
            return []
        case .backoff, .blocked, .fatal:
            let was = state
            state = .stopped
            restartAt = nil
            return [.log("\(market): STOPPED (was \(was.rawValue))")]
        case .stopped:
            return []
        }
    }

    /// An operator's restart: stop then start at once, restarts forgotten.
    public mutating func restart(now: Double) -> [SupervisorAction] {
        resetRestarts()
        switch state {
        case .starting, .running:
            var actions = stop(now: now)
            stopIntent = .restart
            if case .log(let line)? = actions.last { actions[actions.count - 1] = .log(line + "; then starting again") }
            return actions
        case .stopping:
            stopIntent = .restart
            return []
        case .stopped, .backoff, .blocked, .fatal:
            return start(now: now, byOperator: true)
        }
    }

    /// Fires every deadline that is due at `now`.
    public mutating func tick(now: Double) -> [SupervisorAction] {
        var actions: [SupervisorAction] = []
        if let d = startDeadline, d <= now, state == .starting, let pid {
            startDeadline = nil
            state = .stopping
            stopIntent = .startTimeout
            killDeadline = nil
            actions += [
                .log(
                    "\(market) pid \(pid) sent no READY=1 within \(SecondsText.format(settings.startTimeout)); "
                        + "SIGKILL to its process group (a failed start)"),
                .signalGroup(SIGKILL),
            ]
        }
        if let d = watchdogDeadline, d <= now, state == .running {
            actions += watchdogTimeout(now: now, why: "sent no WATCHDOG=1 for \(SecondsText.format(settings.watchdog))")
        }
        if let d = killDeadline, d <= now, state == .stopping, let pid {
            killDeadline = nil
            actions += [.log("\(market) pid \(pid) still running; SIGKILL to its process group"), .signalGroup(SIGKILL)]
        }
        if let d = restartAt, d <= now, state == .backoff {
            restartAt = nil
            state = .starting
            actions.append(.spawn)
        }
        return actions
    }

    // MARK: helpers

    private mutating func watchdogTimeout(now: Double, why: String) -> [SupervisorAction] {
        guard let pid else { return [] }
        state = .stopping
        stopIntent = .watchdog
        watchdogDeadline = nil
        killDeadline = now + settings.watchdogKillGrace
        return [
            .log(
                "\(market) pid \(pid) \(why): watchdog timeout; SIGABRT now, SIGKILL to its process group in "
                    + "\(SecondsText.format(settings.watchdogKillGrace)), then restart"),
            .signalWorker(SIGABRT),
        ]
    }

    /// A run that ended on its own (or was ended as hung): BACKOFF, an immediate restart, or FATAL.
    /// `uptime` counts from the spawn (for the log), `served` from READY=1 (for the policy).
    private mutating func failed(
        _ exit: WorkerExit, now: Double, uptime: Double, served: Double, head: String, reason: String?
    ) -> [SupervisorAction] {
        record(exit, now: now, uptime: uptime, reason: reason)
        let why = reason.map { " (\($0))" } ?? ""
        switch policy.decide(uptime: served, now: now, random: random()) {
        case .now:
            restarts += 1
            state = .starting
            return [.log(head + why + "; restarting now (restart \(restarts))"), .spawn]
        case .after(let delay):
            restarts += 1
            state = .backoff
            restartAt = now + delay
            return [.log(head + why + "; BACKOFF, restarting in \(SecondsText.format(delay)) (restart \(restarts))")]
        case .fatal(let count):
            state = .fatal
            let text =
                "\(market) FATAL: more than \(settings.maxRestarts) restarts within \(SecondsText.format(settings.restartWindow)) "
                + "(\(count) already, last: \(exit.description)); not restarting until an operator runs `supervisor start \(market)`"
            alert = text
            return [.log(head + why + "; FATAL, no more restarts"), .alert(text)]
        }
    }

    private mutating func record(_ exit: WorkerExit, now: Double, uptime: Double, reason: String?) {
        lastExit = LastExit(exit: exit, at: now, uptime: uptime, reason: reason)
    }

    private mutating func resetRestarts() {
        policy.reset()
        restarts = 0
        alert = nil
    }
}
