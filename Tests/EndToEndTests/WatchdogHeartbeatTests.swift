import Foundation
import Testing

/// Market liveness with a real worker (issue 3, test 4): a stopped worker goes LATE, then LOST
/// with an alert naming its last heartbeat; when it resumes, OK again and the alert resolved.
@Suite struct WatchdogHeartbeatTests {
    @Test func aStoppedWorkerGoesLateThenLostWithAnAlertAndComesBackResolvingIt() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let runID = try home.runID("ES", pid: worker.pid)
        try waitFor("a heartbeat of ES received") {
            let m = home.quickStatus()?.markets["ES"]
            return m?.heartbeatState == "OK" && m?.lastHeartbeatUtc != nil ? true : nil
        }

        worker.signal(SIGSTOP)
        defer { worker.signal(SIGCONT) }
        let stoppedAt = Date()
        var states: [String] = []
        let lost = try waitFor("ES LOST", timeout: 5, seen: { "\(states)" }) { () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"] else { return nil }
            if states.last != m.heartbeatState { states.append(m.heartbeatState) }
            return m.heartbeatState == "LOST" ? m : nil
        }
        #expect(states.starts(with: ["OK", "LATE", "LOST"]) || states.starts(with: ["LATE", "LOST"]), "\(states)")
        let lostAfter = Date().timeIntervalSince(stoppedAt)
        print("heartbeat: SIGSTOP -> LOST in status in \(Int(lostAfter * 1000)) ms (heartbeat_lost_seconds 1.0)")
        #expect(lostAfter >= TestConfig().lostSeconds - 2 * TestConfig().heartbeatInterval)
        #expect(lostAfter < TestConfig().lostSeconds + 1.0, "LOST \(lostAfter) s after the stop")
        // The alert names the last heartbeat the watchdog received: the journal's last one, or the one
        // before it when SIGSTOP froze the worker before its newest heartbeat left (the link holds a
        // heartbeat back while earlier lines are still going out).
        let journaled = home.events("ES", type: .heartbeat).filter { $0.runID == runID }.suffix(2).map(\.ts)
        let alert = try #require(lost.alerts.first { $0.condition == "HEARTBEAT_LOST" })
        #expect(alert.severity == "CRITICAL")
        #expect(journaled.contains(alert.metadata["last_heartbeat_utc"] ?? "-"), "alert \(alert.metadata), journal \(journaled)")
        #expect(lost.lastHeartbeatUtc == alert.metadata["last_heartbeat_utc"])
        #expect(lost.heartbeatAgeSeconds >= TestConfig().lostSeconds)

        worker.signal(SIGCONT)
        let back = try waitFor("ES OK again", timeout: 5) { () -> StatusJSON? in
            let s = home.quickStatus()
            return s?.markets["ES"]?.heartbeatState == "OK" ? s : nil
        }
        #expect(back.markets["ES"]?.alerts.isEmpty == true)
        let resolved = back.alertHistory.first { $0.alertId == alert.alertId }
        #expect(resolved?.resolvedAtUtc != nil, "the LOST alert is resolved")
    }
}
