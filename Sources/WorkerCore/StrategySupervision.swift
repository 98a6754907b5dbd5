import RobotConfig
import Wire

/// The strategy process's life as the worker sees it (docs/STRATEGY.md, "Liveness and restarts"):
/// when to start it, when it is hung, how long to wait before a restart, when a crash loop or a
/// stream of rejections latches the fail-safe `STRATEGY_MISBEHAVING`.
///
/// Pure: events and monotonic seconds in, actions out; `StrategyHost` carries them out.
public struct StrategySupervision: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Not started: the worker does not hold the market as an active holder yet.
        case idle
        /// Running; `ready` once it said so.
        case running(ready: Bool)
        /// Killed as hung; its exit is awaited.
        case killed
        /// Exited; started again at `at`.
        case backingOff(until: Double)
        /// No more starts: the crash loop latched the fail-safe, or the worker is stopping.
        case stopped(String)
    }

    public enum Action: Sendable, Equatable {
        case start
        /// SIGKILL the process group: no message for `heartbeat_seconds`.
        case kill(reason: String)
        /// Cancel the strategy's open orders and hold OBSERVE_ONLY (not latched) until a started strategy says `ready`.
        case hold(reason: String)
        /// The strategy said `ready`: the hold ends.
        case release
        /// Latch the fail-safe STRATEGY_MISBEHAVING (once).
        case latch(reason: String)
    }

    public static let trigger = "STRATEGY_MISBEHAVING"

    public let heartbeatSeconds: Double
    public let restart: StrategyRestartSettings
    public let maxRejectionsPerMinute: Int
    public private(set) var phase: Phase = .idle
    public private(set) var lastMessage: Double = 0
    /// When the strategy crashed (exited or was killed as hung), within the crash window.
    public private(set) var crashes: [Double] = []
    /// Crashes since the last `ready`: the backoff doubles with each.
    public private(set) var crashesInARow = 0
    public private(set) var starts = 0
    /// Rejected orders and malformed lines of the last minute (the last N+1 of them at most).
    public private(set) var rejections: [Double] = []
    /// The fail-safe was latched (one alert: never latched twice by this supervision).
    public private(set) var latched = false
    /// OBSERVE_ONLY is held until the strategy says `ready`.
    public private(set) var holding = false

    public init(spec: StrategySpec) {
        heartbeatSeconds = spec.heartbeatSeconds
        restart = spec.restart
        maxRejectionsPerMinute = spec.limits.maxRejectionsPerMinute
    }

    public var isReady: Bool { phase == .running(ready: true) }
    public var isRunning: Bool {
        if case .running = phase { return true }
        return false
    }

    /// The worker holds the market and is active: the strategy starts.
    public mutating func activate(now: Double) -> [Action] {
        guard phase == .idle else { return [] }
        return [.start]
    }

    /// The process was spawned.
    public mutating func started(now: Double) {
        phase = .running(ready: false)
        lastMessage = now
        starts += 1
    }

    /// The spawn failed: counted as a crash.
    public mutating func startFailed(now: Double, why: String) -> [Action] {
        phase = .killed
        return exited(now: now, why: "could not start: \(why)")
    }

    /// Any line arrived from the strategy (a heartbeat, an order, even a malformed line).
    public mutating func message(now: Double) { lastMessage = now }

    /// The strategy said `ready`.
    public mutating func ready(now: Double) -> [Action] {
        lastMessage = now
        guard case .running = phase else { return [] }
        phase = .running(ready: true)
        crashesInARow = 0
        guard holding else { return [] }
        holding = false
        return [.release]
    }

    /// The process ended (by itself, or after `kill`). `why` says how.
    public mutating func exited(now: Double, why: String) -> [Action] {
        if case .stopped = phase { return [] }
        crashes.append(now)
        crashes.removeAll { now - $0 > restart.crashWindowSeconds }
        crashesInARow += 1
        var actions: [Action] = []
        if !holding {
            holding = true
            actions.append(.hold(reason: "\(Self.trigger): the strategy \(why); OBSERVE_ONLY until a restarted strategy says ready"))
        }
        if crashes.count > restart.maxCrashes {
            let reason =
                "the strategy crashed \(crashes.count) times within \(SecondsText.compact(restart.crashWindowSeconds)) s "
                + "(limit strategy.restart.max_crashes \(restart.maxCrashes)); last: \(why)"
            phase = .stopped(reason)
            if !latched {
                latched = true
                actions.append(.latch(reason: reason))
            }
            return actions
        }
        phase = .backingOff(until: now + backoff)
        return actions
    }

    /// The wait before the next start: doubling with each crash in a row.
    public var backoff: Double {
        let exponent = Double(max(0, crashesInARow - 1))
        return min(restart.backoffMaxSeconds, restart.backoffInitialSeconds * pow2(exponent))
    }

    private func pow2(_ e: Double) -> Double {
        var r = 1.0
        var i = 0.0
        while i < e && r < 1e9 {
            r *= 2
            i += 1
        }
        return r
    }

    /// The worker killed it for another reason than silence (it stopped reading its socket).
    public mutating func killed() {
        if isRunning { phase = .killed }
    }

    /// Timers: hung detection and the end of a backoff.
    public mutating func evaluate(now: Double) -> [Action] {
        switch phase {
        case .running where now - lastMessage > heartbeatSeconds:
            phase = .killed
            return [
                .kill(
                    reason:
                        "sent nothing for \(SecondsText.compact(now - lastMessage)) s (limit strategy.heartbeat_seconds \(SecondsText.compact(heartbeatSeconds)) s)"
                )
            ]
        case .backingOff(let until) where now >= until:
            return [.start]
        default:
            return []
        }
    }

    /// A rejected order or a malformed line: more than `max_rejections_per_minute` in 60 s latch once.
    public mutating func rejected(now: Double) -> [Action] {
        // Only the last N+1 matter: more than N within 60 s is the first of them within 60 s of now.
        rejections.append(now)
        if rejections.count > maxRejectionsPerMinute + 1 { rejections.removeFirst(rejections.count - maxRejectionsPerMinute - 1) }
        rejections.removeAll { now - $0 >= 60 }
        guard rejections.count > maxRejectionsPerMinute, !latched else { return [] }
        latched = true
        return [
            .latch(
                reason:
                    "\(rejections.count) rejected orders or malformed lines within 60 s (limit strategy.limits.max_rejections_per_minute \(maxRejectionsPerMinute))"
            )
        ]
    }

    /// An operator cleared the latch: a strategy stopped by the crash loop may start again.
    public mutating func latchCleared(now: Double) -> [Action] {
        latched = false
        rejections = []
        guard case .stopped = phase else { return [] }
        crashes = []
        crashesInARow = 0
        phase = .backingOff(until: now)
        return [.start]
    }

    /// The worker is stopping: no more starts.
    public mutating func stop() { phase = .stopped("the worker is stopping") }

    /// The worker no longer holds the market as its active holder (a lease lost, a STANDBY): the
    /// strategy is stopped, not as a crash; `activate` starts it again. A latch stays.
    public mutating func deactivate() {
        phase = .idle
        holding = false
        crashesInARow = 0
    }
}
