import RobotConfig
import Testing

@testable import SupervisorCore

/// The restart policy alone, on a hand-driven clock.
@Suite struct RestartPolicyTests {
    var settings: SupervisorSettings {
        var s = SupervisorSettings()
        s.backoffInitial = 0.1
        s.backoffMax = 1.0
        s.backoffMultiplier = 2
        s.backoffJitter = 0.2
        s.minUptime = 5
        s.maxRestarts = 100
        s.restartWindow = 60
        return s
    }

    @Test func shortRunsBackOffExponentiallyUpToTheCapWithinTheJitterBounds() {
        let expected = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
        for (random, factor) in [(0.0, 0.8), (0.5, 1.0), (1.0, 1.2)] {
            var policy = RestartPolicy(settings: settings)
            var delays: [Double] = []
            for i in 0..<expected.count {
                guard case .after(let d) = policy.decide(uptime: 0.01, now: Double(i), random: random) else {
                    Issue.record("restart \(i) was not a delay")
                    return
                }
                delays.append(d)
            }
            for (d, e) in zip(delays, expected) {
                #expect(abs(d - e * factor) < 1e-9, "random \(random): delays \(delays), expected \(expected.map { $0 * factor })")
            }
        }
    }

    @Test func randomDelaysStayWithinTwentyPercentOfTheBase() {
        var policy = RestartPolicy(settings: settings)
        for i in 0..<50 {
            let base = policy.baseDelay(shortRuns: policy.consecutiveShortRuns)
            guard case .after(let d) = policy.decide(uptime: 0, now: Double(i), random: Double.random(in: 0...1)) else {
                Issue.record("restart \(i) was not a delay")
                return
            }
            #expect(d >= base * 0.8 - 1e-12 && d <= base * 1.2 + 1e-12, "delay \(d) for base \(base)")
        }
    }

    @Test func aRunLongerThanMinUptimeRestartsAtOnceAndResetsTheBackoff() {
        var policy = RestartPolicy(settings: settings)
        _ = policy.decide(uptime: 0, now: 0, random: 0.5)
        _ = policy.decide(uptime: 0, now: 1, random: 0.5)
        #expect(policy.decide(uptime: 0, now: 2, random: 0.5) == .after(0.4))
        #expect(policy.decide(uptime: 5, now: 10, random: 0.5) == .now)
        #expect(policy.decide(uptime: 0.5, now: 11, random: 0.5) == .after(0.1))
        #expect(policy.decide(uptime: 0.5, now: 12, random: 0.5) == .after(0.2))
    }

    @Test func moreThanMaxRestartsWithinTheWindowIsFatalAndTheWindowSlides() {
        var s = settings
        s.maxRestarts = 3
        s.restartWindow = 10
        var policy = RestartPolicy(settings: s)
        #expect(policy.decide(uptime: 6, now: 0, random: 0.5) == .now)
        #expect(policy.decide(uptime: 6, now: 6, random: 0.5) == .now)
        #expect(policy.decide(uptime: 6, now: 7, random: 0.5) == .now)
        #expect(policy.decide(uptime: 6, now: 8, random: 0.5) == .fatal(restarts: 3))
        // 10.5 s later the restart at 0 has left the window.
        #expect(policy.decide(uptime: 6, now: 10.5, random: 0.5) == .now)
        policy.reset()
        #expect(policy.recentRestarts.isEmpty && policy.consecutiveShortRuns == 0)
    }

    @Test func zeroMaxRestartsNeverRestarts() {
        var s = settings
        s.maxRestarts = 0
        var policy = RestartPolicy(settings: s)
        #expect(policy.decide(uptime: 100, now: 0, random: 0.5) == .fatal(restarts: 0))
    }
}
