import Foundation
import Testing

/// Bad input to `robot-worker`: one line naming the cause, a documented exit status, nothing
/// written outside the configured folders, no lock left held.
@Suite struct WorkerBadInputTests {
    /// Every file under `home`, relative.
    func files(_ home: TestHome) -> Set<String> {
        Set(FileManager.default.enumerator(atPath: home.path)?.compactMap { $0 as? String } ?? [])
    }

    @Test func anUnknownMarketExits78NamingTheConfiguredOnes() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let w = try home.start("robot-worker", ["--market", "MGC"])
        #expect(try w.waitForExit() == 78)
        #expect(w.stderr.contains("no market MGC (canonical GC) is configured; configured: CL, ES, NQ"), "\(w.stderr)")
        #expect(w.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: home.lockDir))
        #expect(!FileManager.default.fileExists(atPath: home.stateDir))
    }

    @Test func aSymbolThatCannotBeAnInstrumentExits78() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let w = try home.start("robot-worker", ["--market", "../ES"])
        #expect(try w.waitForExit() == 78)
        #expect(w.stderr.contains("is not an instrument"), "\(w.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.lockDir))
    }

    @Test func aConfigurationErrorExits78NamingFileKeyAndValue() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.extraSections["paths"] = "{\"lock_dir\": \"locks\", \"colour\": \"red\"}"
        try home.writeConfig(config)
        let w = try home.start("robot-worker", ["--market", "ES"])
        #expect(try w.waitForExit() == 78)
        #expect(w.stderr.contains("robot.json: paths.colour: unknown key"), "\(w.stderr)")
        #expect(files(home).allSatisfy { !$0.hasPrefix("locks") && !$0.hasPrefix("state") })
    }

    @Test func anUnwritableLockFolderExits73AndHoldsNothing() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        // A folder under a regular file cannot be created, even by root.
        try Data().write(to: URL(fileURLWithPath: home.path + "/not-a-folder"))
        config.extraSections["paths"] = "{\"lock_dir\": \"not-a-folder/locks\"}"
        try home.writeConfig(config)
        let w = try home.start("robot-worker", ["--market", "ES"])
        #expect(try w.waitForExit() == 73)
        #expect(w.stderr.contains("not-a-folder/locks: cannot create the folder"), "\(w.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.stateDir))
    }

    @Test func anUnwritableStateFolderExits73AndLeavesNoLockHeld() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        try Data().write(to: URL(fileURLWithPath: home.path + "/not-a-folder"))
        config.extraSections["paths"] = "{\"state_dir\": \"not-a-folder/state\"}"
        try home.writeConfig(config)
        let w = try home.start("robot-worker", ["--market", "ES"])
        #expect(try w.waitForExit() == 73)
        #expect(w.stderr.contains("not-a-folder/state/ES: cannot create the folder"), "\(w.stderr)")
        // The lock is free: a worker with a good configuration takes it at fence 1.
        try home.writeConfig(TestConfig())
        let good = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try waitFor("the lock") { home.events("ES", type: .lockAcquired).first { $0.pid == good.pid } }
        #expect(acquired.fence == 1)
    }
}
