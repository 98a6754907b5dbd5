import Foundation
import Testing
import Wire

/// The single-executor guard with real `robot-worker` processes (issue 2, tests 1-4 and 7).
@Suite struct WorkerLockTests {
    /// The journaled ACQUIRED event of a running worker, once it is there.
    func acquired(_ home: TestHome, _ market: String, pid: Int32) throws -> Event {
        try waitFor("\(market) worker \(pid) to journal CANONICAL_MARKET_LOCK_ACQUIRED", seen: { "\(home.events(market).map(\.type))" }) {
            home.events(market, type: .lockAcquired).last { $0.pid == pid }
        }
    }

    @Test func tenWorkersForESAndMESStartedAtOnceExactlyOneHoldsTheLock() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let workers = try (0..<10).map { i in try home.start("robot-worker", ["--market", i % 2 == 0 ? "ES" : "MES"]) }
        // Every worker either holds the lock or has exited.
        let holder = try waitFor("all but one worker to exit", seen: { "\(workers.filter(\.isRunning).map(\.pid))" }) {
            () -> RunningProcess? in
            let running = workers.filter(\.isRunning)
            return running.count == 1 && home.events("ES", type: .alreadyActive).count == 9 ? running[0] : nil
        }
        let acquired = try acquired(home, "ES", pid: holder.pid)
        #expect(home.events("ES", type: .lockAcquired).count == 1)
        for w in workers where w !== holder {
            #expect(try w.waitForExit() == 100, "refused worker \(w.pid): \(w.stderr)")
        }
        let refusals = home.events("ES", type: .alreadyActive)
        #expect(Set(refusals.map(\.pid)) == Set(workers.filter { $0 !== holder }.map(\.pid)))
        for r in refusals {
            #expect(r.data["holder_run_id"]?.stringValue == acquired.runID, "\(r.data.jsonTextForTest)")
            #expect(r.data["holder_pid"]?.intValue == Int64(holder.pid))
            #expect(r.fence == 0)
        }
    }

    @Test func aKilledHolderIsReplacedAtOnceWithAStaleReportAndTheNextFence() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let first = try home.start("robot-worker", ["--market", "ES"])
        let firstAcquired = try acquired(home, "ES", pid: first.pid)
        first.signal(SIGKILL)
        try first.waitForExit()
        let second = try home.start("robot-worker", ["--market", "MES"])
        let secondAcquired = try acquired(home, "ES", pid: second.pid)
        #expect(secondAcquired.fence == firstAcquired.fence + 1)
        let stale = try #require(home.events("ES", type: .lockStale).last)
        #expect(stale.pid == second.pid)
        #expect(stale.data["stale_run_id"]?.stringValue == firstAcquired.runID)
        #expect(stale.data["stale_pid"]?.intValue == Int64(first.pid))
        #expect((stale.data["record_age_seconds"]?.doubleValue ?? -1) >= 0)
        #expect(second.isRunning)
    }

    @Test(arguments: ["deleted", "replaced"])
    func aLockFileDeletedOrReplacedUnderALiveHolderStillRefusesASecondWorker(_ damage: String) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let holder = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try acquired(home, "ES", pid: holder.pid)
        try FileManager.default.removeItem(atPath: home.lockFile("ES"))
        if damage == "replaced" {
            try Data("{}\n".utf8).write(to: URL(fileURLWithPath: home.lockFile("ES") + ".new"))
            #expect(rename(home.lockFile("ES") + ".new", home.lockFile("ES")) == 0)
        }
        let second = try home.start("robot-worker", ["--market", "MES"])
        #expect(try second.waitForExit() == 100, "second worker: \(second.stderr)")
        let refusal = try #require(home.events("ES", type: .alreadyActive).last)
        #expect(refusal.pid == second.pid)
        #expect(refusal.data["holder_run_id"]?.stringValue == acquired.runID)
        #expect(holder.isRunning)
    }

    @Test func aLockFileOfRandomBytesWithNoHolderIsTakenOverAndReportedAsUnknown() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        try FileManager.default.createDirectory(atPath: home.lockDir, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let garbage = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(garbage).write(to: URL(fileURLWithPath: home.lockFile("ES")))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try acquired(home, "ES", pid: worker.pid)
        #expect(acquired.fence == 1)
        let stale = try #require(home.events("ES", type: .lockStale).last)
        #expect(stale.data["holder_known"] == .bool(false))
        #expect(stale.data["stale_run_id"] == .null)
        #expect(stale.data["record_bytes"]?.intValue == 300)
        #expect(stale.seq! < acquired.seq!)
    }

    @Test func sigtermJournalsTheReleaseExitsZeroAndFreesTheLock() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try acquired(home, "ES", pid: worker.pid)
        let sent = Date()
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit(timeout: 5) == 0, "\(worker.stderr)")
        print("\(#function): lock: SIGTERM -> exit in \(Int(Date().timeIntervalSince(sent) * 1000)) ms")
        #expect(Date().timeIntervalSince(sent) < 0.4, "measured 42-106 ms")
        let released = try #require(home.events("ES", type: .lockReleased).last)
        #expect(released.runID == acquired.runID)
        #expect(released.seq! > acquired.seq!)
        #expect((try? Data(contentsOf: URL(fileURLWithPath: home.lockFile("ES"))))?.isEmpty == true, "a released lock file is empty")
        let next = try home.start("robot-worker", ["--market", "ES"])
        let nextAcquired = try self.acquired(home, "ES", pid: next.pid)
        #expect(nextAcquired.fence == acquired.fence + 1)
        #expect(home.events("ES", type: .lockStale).isEmpty, "a clean release is not stale")
    }
}

extension JSONObject {
    var jsonTextForTest: String { JSONValue.object(self).jsonText }
}
