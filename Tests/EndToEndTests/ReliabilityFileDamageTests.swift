import Foundation
import Platform
import Testing
import Wire

/// Random damage of a file's bytes, from a seed. Replacement bytes are never digits, whitespace,
/// signs, dots or exponents, so damage never turns a number into a smaller valid one (`12` into
/// `1 `): what stays valid JSON after it is a changed string, which no format here can tell from
/// an honest one without a checksum.
enum Damage {
    static let junk: [UInt8] = Array(0x00...0x08) + Array(0x0E...0x1F) + Array("!#$&'()*;<=>?@[]^_`{|}~\"\\:,".utf8) + Array(0x80...0xFF)

    static func apply(_ bytes: [UInt8], seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var b = bytes
        guard !b.isEmpty else { return junk.shuffled(using: &rng) }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: // truncate
            b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng)))
        case 1: // overwrite a few bytes
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = junk.randomElement(using: &rng)!
            }
        case 2: // insert junk
            let at = Int.random(in: 0...b.count, using: &rng)
            b.insert(contentsOf: (0..<Int.random(in: 1...40, using: &rng)).map { _ in junk.randomElement(using: &rng)! }, at: at)
        default: // delete a span
            let from = Int.random(in: 0..<b.count, using: &rng)
            b.removeSubrange(from..<min(b.count, from + Int.random(in: 1...30, using: &rng)))
        }
        return b == bytes ? b + [0xFF] : b
    }
}

@Suite struct ReliabilityFileDamageTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8]

    func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Starts an ES worker, waits for its lock and stops it with `sig`; returns its ACQUIRED event.
    func oneRun(_ home: TestHome, signal sig: Int32 = SIGTERM, until: (() -> Bool)? = nil) throws -> Event {
        let w = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try home.acquired("ES", pid: w.pid)
        try waitFor("the run's first events") { home.events("ES").filter { $0.pid == w.pid && $0.seq != nil }.count >= 6 ? true : nil }
        if let until { try waitFor("the run's condition") { until() ? true : nil } }
        w.signal(sig)
        try w.waitForExit()
        return acquired
    }

    /// The worker started after the damage: its STARTUP_CHECKS and first mode, or its exit status.
    func restart(_ home: TestHome) throws -> (process: RunningProcess, checks: Event?, mode: String?, exit: Int32?) {
        let w = try home.start("robot-worker", ["--market", "ES"])
        var exit: Int32?
        let checks = try waitFor("the restarted worker to check or exit", timeout: 10, seen: { w.stderr }) { () -> Event?? in
            if let e = home.events("ES", type: .startupChecks).first(where: { $0.pid == w.pid }) { return .some(e) }
            if !w.isRunning {
                exit = try w.waitForExit()
                return .some(nil)
            }
            return nil
        }
        var mode: String?
        if checks != nil {
            mode = try waitFor("its first mode") {
                home.events("ES", type: .systemModeChange).first { $0.pid == w.pid }?.data["to"]?.stringValue
            }
        }
        return (w, checks, mode, exit)
    }

    func failedChecks(_ e: Event?) -> [String] {
        e?.data["checks"]?.arrayValue?.compactMap(\.objectValue).filter { $0["passed"] == .bool(false) }.compactMap {
            $0["name"]?.stringValue
        } ?? []
    }

    @Test func aRandomlyDamagedConfigurationExits78NamingTheFileNeverACrash() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let good = Array(TestConfig().supervised().json.utf8)
        var outcomes: [String] = []
        for seed in UInt64(1)...24 {
            try write(home.configPath, Damage.apply(good, seed: seed))
            for program in ["robot-worker", "watchdog", "supervisor"] {
                let args = program == "robot-worker" ? ["--market", "ES"] : ["run"]
                let p = try home.start(program, args, name: "\(program)-\(seed)")
                let exited = try? waitFor("exit", timeout: 1.5) { p.isRunning ? nil : true }
                if exited == nil {
                    // The damage left a valid configuration (a changed string): it runs; stop it.
                    p.signal(SIGTERM)
                    let status = try p.waitForExit()
                    #expect(status == 0, "seed \(seed) \(program): a valid configuration, stopped cleanly: \(p.stderr)")
                    outcomes.append("\(seed)/\(program): valid")
                    continue
                }
                let status = try p.waitForExit()
                #expect(status == 78, "seed \(seed) \(program) exited \(status): \(p.stderr)")
                #expect(p.stderr.contains("robot.json"), "seed \(seed) \(program): the file is named: \(p.stderr)")
                #expect(p.stderr.split(separator: "\n").count == 1, "seed \(seed) \(program): one line: \(p.stderr)")
                outcomes.append("\(seed)/\(program): 78")
            }
        }
        #expect(outcomes.filter { $0.hasSuffix("78") }.count >= 60, "\(outcomes)")
    }

    @Test(arguments: seeds)
    func aRandomlyDamagedJournalStartsObserveOnlyAndIsKeptAside(seed: UInt64) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        _ = try oneRun(home)
        var lines = try read(home.journal("ES")).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        // Damage one line that is not the last (a torn last line is a crash's signature, cut and reported).
        var rng = SplitMix64(seed: seed)
        let i = Int.random(in: 0..<(lines.count - 2), using: &rng)
        var damaged = Damage.apply(lines[i], seed: seed)
        damaged.removeAll { $0 == UInt8(ascii: "\n") }
        if damaged.isEmpty { damaged = [0xFF] }
        lines[i] = damaged
        try write(home.journal("ES"), Array(lines.joined(separator: [UInt8(ascii: "\n")])))
        let r = try restart(home)
        #expect(r.exit == nil, "seed \(seed): no crash: \(r.process.stderr)")
        #expect(r.checks?.data["passed"] == .bool(false), "seed \(seed)")
        #expect(failedChecks(r.checks).contains("event_log_integrity"), "seed \(seed): \(failedChecks(r.checks))")
        #expect(r.mode == "OBSERVE_ONLY", "seed \(seed)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: home.stateDir + "/ES").filter {
            $0.hasPrefix("events.ndjson.damaged-")
        }
        #expect(aside.count == 1, "seed \(seed): \(aside)")
        #expect(r.process.isRunning)
    }

    @Test(arguments: seeds)
    func aRandomlyDamagedSnapshotNeverStartsAggressiveEvenWhenItHeldALatch(seed: UInt64) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        let latched = seed % 2 == 0
        if latched {
            // A feed that never ticks: the market-data fail-safe latches SHUTDOWN within a second.
            config.feeds["ES"] = "{\"kind\": \"file\", \"path\": \"feed-ES.ndjson\"}"
            config.extraSections["safety"] =
                #"{"market_data_stale_seconds": 0.3, "market_data_stalled_seconds": 0.6, "health_interval_seconds": 0.2}"#
            _ = FileManager.default.createFile(atPath: home.path + "/feed-ES.ndjson", contents: nil)
        }
        try home.writeConfig(config)
        let snapshot = home.stateDir + "/ES/snapshot.json"
        _ = try oneRun(home) {
            !latched || (try? String(contentsOfFile: snapshot, encoding: .utf8))?.contains("MARKET_DATA_STALLED") == true
        }
        try write(snapshot, Damage.apply(try read(snapshot), seed: seed))
        let r = try restart(home)
        #expect(r.exit == nil, "seed \(seed): no crash: \(r.process.stderr)")
        #expect(r.mode != "AGGRESSIVE", "seed \(seed) latched \(latched): a damaged snapshot never silently becomes AGGRESSIVE")
        if r.mode == "OBSERVE_ONLY" {
            #expect(!failedChecks(r.checks).isEmpty, "seed \(seed)")
        } else {
            #expect(latched && r.mode == "SHUTDOWN", "seed \(seed): only an intact latch may come back as SHUTDOWN: \(r.mode ?? "none")")
        }
    }

    @Test(arguments: seeds)
    func aRandomlyDamagedLockRecordIsTakenOverWithAHigherFenceNeverACrash(seed: UInt64) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let first = try oneRun(home, signal: SIGKILL) // SIGKILL leaves the holder record in the file
        let record = try read(home.lockFile("ES"))
        #expect(!record.isEmpty)
        try write(home.lockFile("ES"), Damage.apply(record, seed: seed))
        let r = try restart(home)
        #expect(r.exit == nil, "seed \(seed): \(r.process.stderr)")
        let acquired = try home.acquired("ES", pid: r.process.pid)
        #expect(acquired.fence > first.fence, "seed \(seed): fence \(acquired.fence) after \(first.fence)")
        let stale = home.events("ES", type: .lockStale).last { $0.pid == r.process.pid }
        #expect(stale != nil, "seed \(seed): the crashed or unknown holder is reported")
    }

    @Test(arguments: seeds)
    func aRandomlyDamagedFenceFileIsRefusedWith65OrKeepsItsFenceNeverAReset(seed: UInt64) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        _ = try oneRun(home)
        let second = try oneRun(home)
        let fence = try read(home.fenceFile("ES"))
        let damaged = Damage.apply(fence, seed: seed)
        try write(home.fenceFile("ES"), damaged)
        let w = try home.start("robot-worker", ["--market", "ES"])
        let outcome = try waitFor("exit 65 or the lock", seen: { w.stderr }) { () -> String? in
            if !w.isRunning { return "exit \(try w.waitForExit())" }
            return home.events("ES", type: .lockAcquired).last { $0.pid == w.pid }.map { "fence \($0.fence)" }
        }
        if outcome.hasPrefix("exit") {
            #expect(outcome == "exit 65", "seed \(seed): \(w.stderr)")
            #expect(w.stderr.contains(home.fenceFile("ES")) || w.stderr.contains("fence"), "seed \(seed): \(w.stderr)")
            #expect(try read(home.fenceFile("ES")) == damaged, "seed \(seed): left for the operator")
        } else {
            #expect(outcome == "fence \(second.fence + 1)", "seed \(seed): a fence file still read as one keeps its fence: \(outcome)")
        }
    }

    @Test(arguments: seeds)
    func aRandomlyDamagedWatchdogSnapshotIsRefusedWith65NamingTheFileNeverReset(seed: UInt64) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig())
        let watchdog = try home.startWatchdog()
        let w = try home.start("robot-worker", ["--market", "ES"])
        let run = try home.runID("ES", pid: w.pid)
        try waitFor("events applied") { (home.quickStatus()?.markets["ES"]?.applied(run) ?? 0) >= 5 ? true : nil }
        w.signal(SIGTERM)
        try w.waitForExit()
        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0)
        let snapshot = home.stateDir + "/watchdog/snapshot.json"
        let damaged = Damage.apply(try read(snapshot), seed: seed)
        try write(snapshot, damaged)
        let again = try home.start("watchdog", ["run"])
        let served = try? waitFor("exit or serve", timeout: 3) { () -> Bool? in
            if !again.isRunning { return false }
            return UnixSocket.isServing(home.watchdogSocket) ? true : nil
        }
        if served == true {
            // Still a valid snapshot (a changed string): it must hold the run, never an empty state.
            let s = try #require(home.quickStatus())
            #expect((s.markets["ES"]?.applied(run) ?? 0) >= 5, "seed \(seed): not reset")
        } else {
            #expect(try again.waitForExit() == 65, "seed \(seed): \(again.stderr)")
            #expect(again.stderr.contains(snapshot), "seed \(seed): \(again.stderr)")
            #expect(try read(snapshot) == damaged, "seed \(seed): left as it was")
        }
    }
}
