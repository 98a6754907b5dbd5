import Foundation
import Platform
import Testing
import Wire

/// Clock steps are events, not damage (issue 14): a worker whose wall clock steps back and forward
/// during a run (libfaketime, its offset changed at run time through a timestamp file) journals
/// `CLOCK_STEP`, the watchdog raises a warning, and the next start passes its checks; a hand-made
/// timestamp going back with no `CLOCK_STEP` still fails them.
@Suite struct ClockStepTests {
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    func modes(_ home: TestHome) -> [String] { home.events("ES", type: .systemModeChange).map { $0.data["to"]?.stringValue ?? "?" } }

    func config() -> TestConfig {
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES")])]
        c.extraSections["safety"] = "{\"health_interval_seconds\": 0.2}"
        return c
    }

    /// Starts the ES worker with libfaketime preloaded, its offset read from `rcFile` at every
    /// call (FAKETIME_NO_CACHE), the monotonic clock left alone. Preloaded into a process started
    /// directly, the library leaves the worker without its arguments; started through `sh`, which
    /// execs it (the pid stays the worker's, so it is signalled by pid), it works.
    func startFakedWorker(_ home: TestHome, rcFile: String) throws -> RunningProcess {
        try RunningProcess(
            executable: "/bin/sh",
            arguments: [
                "-c", "exec \"$0\" \"$@\"", Binaries.path("robot-worker"), "--market", "ES", "--config", home.configPath, "--home",
                home.path,
            ],
            environment: [
                "LD_PRELOAD": Self.library, "FAKETIME_TIMESTAMP_FILE": rcFile, "FAKETIME_NO_CACHE": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            ],
            logPrefix: home.path + "/faked-worker")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ClockStepTests.library), "libfaketime is missing: run scripts/setup"))
    func stepsBackAndForwardAreJournaledAlertedAndTheNextStartIsClean() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config())
        let rc = home.path + "/faketimerc"
        try "+0\n".write(toFile: rc, atomically: true, encoding: .utf8)
        try home.startWatchdog()
        let worker = try startFakedWorker(home, rcFile: rc)
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        try waitFor("AGGRESSIVE", seen: { "\(modes(home)) \(worker.stderr)" }) { modes(home).last == "AGGRESSIVE" ? true : nil }
        let runID = try #require(home.events("ES", type: .systemModeChange).last?.runID)

        // Back 30 s: an NTP correction of a clock that ran fast.
        try "-30\n".write(toFile: rc, atomically: true, encoding: .utf8)
        let back = try waitFor("CLOCK_STEP back", seen: { "\(home.events("ES").suffix(3).map(\.type))" }) {
            home.events("ES", type: .clockStep).first
        }
        let backDelta = try #require(back.data["delta_seconds"]?.doubleValue)
        #expect(backDelta < -29 && backDelta > -31, "\(back.data)")
        #expect(back.runID == runID)
        #expect(back.data["to"]?.stringValue == back.ts, "the step is stamped with the new time")
        // Forward 90 s (to 60 s ahead).
        try "+60\n".write(toFile: rc, atomically: true, encoding: .utf8)
        let forward = try waitFor("CLOCK_STEP forward") { home.events("ES", type: .clockStep).dropFirst().first }
        let forwardDelta = try #require(forward.data["delta_seconds"]?.doubleValue)
        #expect(forwardDelta > 89 && forwardDelta < 91, "\(forward.data)")
        #expect(home.events("ES", type: .clockStep).count == 2, "one event per step")

        // The journal goes back exactly at the first step, and the timestamps really did.
        let run = home.events("ES").filter { $0.runID == runID }
        let i = try #require(run.firstIndex { $0.type == EventType.clockStep.rawValue })
        #expect(i > 0)
        #expect((seconds(from: run[i - 1].ts, to: run[i].ts) ?? 0) < -29)
        // Steps are not damage: the mode never changed.
        #expect(modes(home) == ["AGGRESSIVE"])
        // The watchdog raised one warning for them.
        try waitFor("a CLOCK_STEP alert", seen: { "\(home.quickStatus()?.markets["ES"]?.alerts.map(\.condition) ?? [])" }) {
            home.quickStatus()?.markets["ES"]?.alerts.first { $0.condition == "CLOCK_STEP" }
        }
        let alerts = try #require(home.quickStatus()?.markets["ES"]?.alerts.filter { $0.condition == "CLOCK_STEP" })
        #expect(alerts.count == 1)
        #expect(alerts.first?.severity == "WARNING")

        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)

        // The next start (real time, 60 s behind the last run's last timestamp) passes its checks.
        let next = try home.start("robot-worker", ["--market", "ES"], name: "worker-next")
        let checks = try waitFor("the next run's STARTUP_CHECKS", seen: { next.stderr }) {
            home.events("ES", type: .startupChecks).last { $0.runID != runID }
        }
        #expect(checks.data["passed"] == .bool(true), "\(checks.data)")
        try waitFor("the next run AGGRESSIVE", seen: { "\(modes(home))" }) {
            home.events("ES", type: .systemModeChange).last { $0.runID == checks.runID }?.data["to"]?.stringValue == "AGGRESSIVE"
                ? true : nil
        }
        let aside = try FileManager.default.contentsOfDirectory(atPath: home.stateDir + "/ES").filter { $0.contains("damaged") }
        #expect(aside.isEmpty, "nothing moved aside: \(aside)")
        next.signal(SIGTERM)
        #expect(try next.waitForExit() == 0)
    }

    @Test func aHandMadeTimestampGoingBackWithNoClockStepStillFailsTheChecks() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config())
        try FileManager.default.createDirectory(atPath: home.stateDir + "/ES", withIntermediateDirectories: true)
        let t = UTCTimestamp.nowMicros() - 600_000_000
        func line(_ seq: Int64, _ micros: Int64) -> [UInt8] {
            Event(
                type: EventType.configReloaded.rawValue, market: "ES", runID: "ES-hand", pid: 7, fence: 1, seq: seq,
                ts: UTCTimestamp.format(micros: micros), data: [:]
            )
            .encodedLine()
        }
        try Data(line(1, t) + line(2, t - 30_000_000) + line(3, t - 29_000_000)).write(to: URL(fileURLWithPath: home.journal("ES")))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let checks = try waitFor("STARTUP_CHECKS", seen: { worker.stderr }) { home.events("ES", type: .startupChecks).last }
        #expect(checks.data["passed"] == .bool(false))
        let failed = checks.data["checks"]?.arrayValue?.compactMap(\.objectValue).first { $0["name"]?.stringValue == "event_log_integrity" }
        #expect(failed?["passed"] == .bool(false))
        #expect(failed?["detail"]?.stringValue?.contains("goes back in time in run ES-hand") == true, "\(String(describing: failed))")
        try waitFor("OBSERVE_ONLY", seen: { "\(modes(home))" }) { modes(home).last == "OBSERVE_ONLY" ? true : nil }
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }
}
