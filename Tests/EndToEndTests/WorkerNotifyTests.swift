import Foundation
import Testing

/// sd_notify from a real worker to a datagram socket bound by the test (issue 2, test 6).
@Suite struct WorkerNotifyTests {
    @Test func readyComesOnlyAfterTheLockAndWatchdogPingsAtHalfTheTimeout() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let listener = try NotifyListener(path: home.path + "/notify.sock")
        let worker = try home.start(
            "robot-worker", ["--market", "ES"], environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        var acquiredAtReady: Bool?
        try waitFor("READY=1", seen: { "\(listener.assignments.map(\.line))" }) { () -> Bool? in
            listener.poll()
            guard listener.assignments.contains(where: { $0.line == "READY=1" }) else { return nil }
            // The worker journals ACQUIRED before it sends READY=1: it must be there already.
            if acquiredAtReady == nil { acquiredAtReady = !home.events("ES", type: .lockAcquired).isEmpty }
            return true
        }
        #expect(acquiredAtReady == true)
        #expect(listener.assignments.contains { $0.line.hasPrefix("STATUS=ES (MES): lock held") })
        let pings = try waitFor("eight WATCHDOG=1 pings") { () -> [Date]? in
            listener.poll()
            let p = listener.assignments.filter { $0.line == "WATCHDOG=1" }.map(\.at)
            return p.count >= 8 ? p : nil
        }
        let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }.sorted()
        let median = gaps[gaps.count / 2]
        #expect(median > 0.15 && median < 0.30, "median ping gap \(median) s for WATCHDOG_USEC=400000 (expected 0.2 s)")

        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
        listener.poll()
        #expect(listener.assignments.contains { $0.line == "STOPPING=1" })
    }

    @Test func aRefusedWorkerNeverSendsReady() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let holder = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("the holder's lock") { home.events("ES", type: .lockAcquired).first { $0.pid == holder.pid } }
        let listener = try NotifyListener(path: home.path + "/notify.sock")
        let refused = try home.start("robot-worker", ["--market", "MES"], environment: ["NOTIFY_SOCKET": listener.path])
        #expect(try refused.waitForExit() == 100)
        listener.poll()
        #expect(!listener.assignments.contains { $0.line == "READY=1" }, "\(listener.assignments.map(\.line))")
        #expect(listener.assignments.contains { $0.line.hasPrefix("STATUS=ES: refused") })
    }
}
