import Foundation
import Testing

/// Identity invariants and SIGHUP reload with a real worker (issue 2, test 5).
@Suite struct WorkerIdentityTests {
    @Test func aNonCanonicalStreamBySighupIsReportedWithinASecondAndTheFixFlipsItBack() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        try home.writeConfig(config)
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let first = try waitFor("the first IDENTITY_INVARIANTS_STATUS") { home.events("ES", type: .identityInvariantsStatus).first }
        #expect(first.data["pass"] == .bool(true))
        #expect(first.data["stream_ids"]?.stringArrayValue == ["ES1", "ES2"])
        #expect(home.events("ES", type: .canonicalizationSelfTest).count == 1)

        config.markets["ES"] = ("MES", [("MES1", "ES"), ("ES2", "ES")])
        try home.writeConfig(config)
        var sent = Date()
        worker.signal(SIGHUP)
        let failing = try waitFor("pass=false after SIGHUP", timeout: 5) {
            home.events("ES", type: .identityInvariantsStatus).first { $0.data["pass"] == .bool(false) }
        }
        print("\(#function): identity: SIGHUP -> journaled result in \(Int(Date().timeIntervalSince(sent) * 1000)) ms")
        #expect(Date().timeIntervalSince(sent) < 0.3, "measured 11-74 ms")
        let violations = failing.data["violations"]?.stringArrayValue ?? []
        #expect(violations.count == 1)
        #expect(violations.first?.contains("MES1") == true)
        #expect(failing.data["stream_ids"]?.stringArrayValue == ["ES2", "MES1"])

        config.markets["ES"] = ("MES", [("ES1", "ES"), ("ES2", "ES")])
        try home.writeConfig(config)
        sent = Date()
        worker.signal(SIGHUP)
        let fixed = try waitFor("pass=true again after the fix", timeout: 5) {
            home.events("ES", type: .identityInvariantsStatus).last { $0.data["pass"] == .bool(true) && $0.seq! > failing.seq! }
        }
        print("\(#function): identity: SIGHUP -> journaled result in \(Int(Date().timeIntervalSince(sent) * 1000)) ms")
        #expect(Date().timeIntervalSince(sent) < 0.3, "measured 11-74 ms")
        #expect(fixed.data["violations"]?.stringArrayValue == [])
    }

    @Test func aBadConfigurationOnSighupIsJournaledAndTheRunningOneKept() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("the first IDENTITY_INVARIANTS_STATUS") { home.events("ES", type: .identityInvariantsStatus).first }
        try "{ \"markets\": 42 }".write(toFile: home.configPath, atomically: true, encoding: .utf8)
        worker.signal(SIGHUP)
        let failed = try waitFor("CONFIG_RELOAD_FAILED") { home.events("ES", type: .configReloadFailed).first }
        #expect(failed.data["error"]?.stringValue?.contains("markets") == true)
        #expect(failed.data["kept"]?.stringArrayValue == ["ES1", "ES2"])
        #expect(worker.isRunning)
        #expect(home.events("ES", type: .identityInvariantsStatus).allSatisfy { $0.data["pass"] == .bool(true) })
    }
}
