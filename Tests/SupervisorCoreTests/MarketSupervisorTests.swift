import Platform
import RobotConfig
import Testing

@testable import SupervisorCore

#if canImport(Glibc)
import Glibc
#endif

/// The market state machine under an injected clock: no process, no timer, no socket.
@Suite struct MarketSupervisorTests {
    static var settings: SupervisorSettings {
        var s = SupervisorSettings()
        s.startTimeout = 10
        s.watchdog = 10
        s.watchdogKillGrace = 2
        s.stopTimeout = 5
        s.minUptime = 5
        s.backoffInitial = 0.1
        s.backoffMax = 10
        s.backoffMultiplier = 2
        s.backoffJitter = 0.2
        s.maxRestarts = 5
        s.restartWindow = 60
        return s
    }

    func machine(_ s: SupervisorSettings = settings) -> MarketSupervisor {
        MarketSupervisor(market: "ES", settings: s, random: { 0.5 })
    }

    static let ready = NotifyMessage("READY=1")
    static let ping = NotifyMessage("WATCHDOG=1")

    /// STOPPED → STARTING → RUNNING at `t` with `pid`.
    func running(_ m: inout MarketSupervisor, pid: Int32 = 100, at t: Double = 0) {
        #expect(m.start(now: t, byOperator: false) == [.spawn])
        _ = m.spawned(pid: pid, now: t)
        #expect(m.state == .starting)
        _ = m.notify(Self.ready, now: t + 0.1)
        #expect(m.state == .running)
    }

    func logs(_ actions: [SupervisorAction]) -> [String] {
        actions.compactMap { if case .log(let l) = $0 { return l } else { return nil } }
    }

    @Test func readyMakesItRunningAndPingsKeepTheWatchdogQuiet() {
        var m = machine()
        running(&m)
        #expect(m.nextDeadline == 10.1)
        for t in stride(from: 5.0, through: 60, by: 5) {
            _ = m.notify(Self.ping, now: t)
            #expect(m.tick(now: t + 4.9).isEmpty)
        }
        #expect(m.state == .running)
    }

    @Test func aMissingWatchdogPingSendsSigabrtThenSigkillAfterTheGraceThenRestarts() {
        var m = machine()
        running(&m)
        _ = m.notify(Self.ping, now: 3)
        #expect(m.tick(now: 12.9).isEmpty, "not before the timeout")
        let timeout = m.tick(now: 13)
        #expect(timeout.contains(.signalWorker(SIGABRT)))
        #expect(!timeout.contains(.signalGroup(SIGKILL)))
        #expect(m.state == .stopping && m.stopIntent == .watchdog)
        #expect(logs(timeout).first?.contains("watchdog timeout") == true, "\(timeout)")
        #expect(m.nextDeadline == 15)
        #expect(m.tick(now: 14.9).isEmpty)
        #expect(m.tick(now: 15).contains(.signalGroup(SIGKILL)))
        let exit = m.exited(.signaled(SIGKILL), now: 15.01)
        // Up for 15 s (more than min_uptime): restarted at once.
        #expect(exit.last == .spawn)
        #expect(logs(exit).first == "ES pid 100 exited on signal 9 (SIGKILL) after 15 s (watchdog timeout); restarting now (restart 1)")
        #expect(m.state == .starting && m.restarts == 1)
        #expect(m.lastExit?.reason == "watchdog timeout")
    }

    @Test func watchdogTriggerIsAnImmediateTimeout() {
        var m = machine()
        running(&m)
        #expect(m.notify(NotifyMessage("WATCHDOG=trigger"), now: 1).contains(.signalWorker(SIGABRT)))
    }

    @Test func noReadyWithinTheStartTimeoutIsKilledAndCountedAsAFailedStart() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        _ = m.spawned(pid: 7, now: 0)
        #expect(m.nextDeadline == 10)
        #expect(m.tick(now: 9.99).isEmpty)
        let kill = m.tick(now: 10)
        #expect(kill.contains(.signalGroup(SIGKILL)))
        #expect(m.state == .stopping && m.stopIntent == .startTimeout)
        let exit = m.exited(.signaled(SIGKILL), now: 10.01)
        #expect(m.state == .backoff, "a failed start backs off (it was never up min_uptime)")
        #expect(m.restarts == 1)
        #expect(m.restartAt == 10.01 + 0.1)
        #expect(logs(exit).first?.contains("(start timeout); BACKOFF, restarting in 0.10 s (restart 1)") == true, "\(exit)")
        #expect(m.tick(now: 10.2) == [.spawn])
        #expect(m.state == .starting)
    }

    @Test func exitStatus100IsBlockedAndNeverRestartedUntilAnOperatorStarts() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        _ = m.spawned(pid: 7, now: 0)
        let exit = m.exited(.exited(100), now: 0.2)
        #expect(m.state == .blocked)
        #expect(!exit.contains(.spawn))
        #expect(m.nextDeadline == nil)
        #expect(m.tick(now: 1_000_000).isEmpty)
        #expect(m.state == .blocked)
        #expect(
            logs(exit).first
                == "ES pid 7 exited with status 100 (another executor holds the market) after 0.20 s; BLOCKED, not restarting until an operator starts it"
        )
    }

    @Test func anAutomaticStartDoesNotResetRestartsButAnOperatorStartDoes() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        _ = m.spawned(pid: 7, now: 0)
        _ = m.exited(.exited(1), now: 0.1)
        _ = m.tick(now: 1)
        _ = m.spawned(pid: 8, now: 1)
        _ = m.exited(.exited(100), now: 1.1)
        #expect(m.state == .blocked && m.restarts == 1)
        #expect(m.start(now: 2, byOperator: true) == [.spawn])
        #expect(m.restarts == 0 && m.policy.recentRestarts.isEmpty)
    }

    @Test func quickExitsBackOffWithGrowingDelaysThenGoFatalWithAnAlert() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        var t = 0.0
        var delays: [Double] = []
        var pid: Int32 = 10
        while m.state != .fatal, pid < 30 {
            _ = m.spawned(pid: pid, now: t)
            let actions = m.exited(.exited(1), now: t + 0.01)
            t += 0.01
            if m.state == .fatal {
                #expect(
                    actions.contains { if case .alert(let a) = $0 { return a.contains("ES FATAL") } else { return false } }, "\(actions)")
                break
            }
            #expect(m.state == .backoff)
            let at = m.restartAt!
            delays.append(at - t)
            t = at
            #expect(m.tick(now: t) == [.spawn])
            pid += 1
        }
        #expect(m.state == .fatal)
        #expect(delays.count == 5, "five restarts allowed, the sixth failure is fatal: \(delays)")
        for (d, e) in zip(delays, [0.1, 0.2, 0.4, 0.8, 1.6]) { #expect(abs(d - e) < 1e-9, "\(delays)") }
        #expect(m.alert?.contains("supervisor start ES") == true)
        #expect(m.tick(now: t + 3600).isEmpty, "FATAL never restarts by itself")
        #expect(m.state == .fatal && m.nextDeadline == nil)
    }

    @Test func anOperatorStartTakesAFatalMarketOutAndClearsTheAlert() {
        var s = Self.settings
        s.maxRestarts = 0
        var m = machine(s)
        _ = m.start(now: 0, byOperator: false)
        _ = m.spawned(pid: 1, now: 0)
        _ = m.exited(.exited(1), now: 1)
        #expect(m.state == .fatal && m.alert != nil)
        #expect(m.start(now: 2, byOperator: true) == [.spawn])
        #expect(m.alert == nil && m.state == .starting)
    }

    @Test func stopSendsSigtermToTheGroupThenSigkillAfterTheStopTimeout() {
        var m = machine()
        running(&m)
        let stop = m.stop(now: 20)
        #expect(stop.first == .signalGroup(SIGTERM))
        #expect(m.state == .stopping && m.nextDeadline == 25)
        #expect(m.tick(now: 24.9).isEmpty)
        #expect(m.tick(now: 25).contains(.signalGroup(SIGKILL)))
        let exit = m.exited(.signaled(SIGKILL), now: 25.1)
        #expect(m.state == .stopped && !exit.contains(.spawn))
        #expect(m.nextDeadline == nil)
    }

    @Test func stoppingAMarketInBackoffIsImmediateAndCancelsTheRestart() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        _ = m.spawned(pid: 1, now: 0)
        _ = m.exited(.exited(1), now: 0.01)
        #expect(m.state == .backoff)
        _ = m.stop(now: 0.02)
        #expect(m.state == .stopped && m.nextDeadline == nil)
    }

    @Test func restartStopsThenStartsAtOnceWithoutCountingARestart() {
        var m = machine()
        running(&m)
        let r = m.restart(now: 1)
        #expect(r.first == .signalGroup(SIGTERM))
        let exit = m.exited(.exited(0), now: 1.2)
        #expect(exit.last == .spawn)
        #expect(m.state == .starting && m.restarts == 0)
    }

    @Test func aStopDuringAWatchdogKillEndsStoppedNotRestarted() {
        var m = machine()
        running(&m)
        _ = m.tick(now: 10.1)
        #expect(m.stopIntent == .watchdog)
        _ = m.stop(now: 10.5)
        _ = m.exited(.signaled(SIGABRT), now: 11)
        #expect(m.state == .stopped)
    }

    @Test func spawnFailureIsAFailedStart() {
        var m = machine()
        _ = m.start(now: 0, byOperator: false)
        let a = m.spawnFailed("posix_spawn /nope: No such file or directory", now: 0)
        #expect(m.state == .backoff)
        #expect(logs(a).first?.contains("could not be started") == true)
    }

    @Test func waitStatusesDecodeLikeTheMacros() {
        #expect(WorkerExit(waitStatus: 0) == .exited(0))
        #expect(WorkerExit(waitStatus: 100 << 8) == .exited(100))
        #expect(WorkerExit(waitStatus: 9) == .signaled(9))
        #expect(WorkerExit(waitStatus: 6 | 0x80) == .signaled(6), "core dumped")
        #expect(WorkerExit.signaled(9).description == "exited on signal 9 (SIGKILL)")
    }
}
