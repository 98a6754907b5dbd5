import Foundation
import Platform
import Testing
import Wire

/// Power loss, not just a crash: the workers' lock and state folders and the watchdog's state
/// folder live on the power-loss file system (tools/powerloss-fs), which on a cut throws away
/// whatever was written but not fsynced (file data) and every created, renamed or unlinked name
/// whose folder was not fsynced since. A killed process loses nothing the page cache holds, so
/// only these tests see a missing fsync. After each cut: no event the watchdog acked is missing
/// from the worker's journal or from the watchdog's state, no latch that was reported set is gone,
/// no fence goes back, no client order ID repeats.
@Suite struct PowerLossTests {
    /// One home on one mount, and every process the test starts; `close()` ends them in order
    /// (processes, then the mount, then the folder).
    final class Rig {
        let home: TestHome
        let fs: PowerLossMount
        private(set) var processes: [RunningProcess] = []

        init(_ config: TestConfig) throws {
            home = try TestHome()
            do { fs = try PowerLossMount(home: home) } catch {
                home.cleanup()
                throw error
            }
            var config = config
            config.extraSections["paths"] = #"{"lock_dir": "fs/locks", "state_dir": "fs/state", "allow_network_lock_dir": true}"#
            try home.writeConfig(config)
            _ = FileManager.default.createFile(atPath: home.path + "/feed-ES.ndjson", contents: nil)
        }

        var stateDir: String { fs.path + "/state" }
        var fencePath: String { fs.path + "/locks/canonical_ES.fence" }
        var workerSnapshotPath: String { stateDir + "/ES/snapshot.json" }

        @discardableResult
        func startWatchdog() throws -> RunningProcess {
            let p = try home.startWatchdog()
            processes.append(p)
            return p
        }

        /// Starts the ES worker and waits for its first mode; returns it and its run id.
        func startWorker() throws -> (RunningProcess, String) {
            // The host-wide guard on the mount too: its lock record and fence file are written by the
            // same code as the home's, and a copy of them off the mount would survive the cut.
            let p = try home.start("robot-worker", ["--market", "ES"], environment: ["ROBOT_GUARD_DIR": home.path + "/fs/host-guard"])
            processes.append(p)
            let run = try waitFor("the worker \(p.pid) to journal its lock", seen: { p.stderr }) {
                events().last { $0.type == EventType.lockAcquired.rawValue && $0.pid == p.pid }?.runID
            }
            try waitFor("the worker \(p.pid) to settle its first mode", seen: { p.stderr }) {
                events().contains { $0.runID == run && $0.type == EventType.systemModeChange.rawValue } ? true : nil
            }
            let control = home.socketDir + "/worker-ES.sock"
            try waitFor("\(control) to be served", seen: { p.stderr }) { UnixSocket.isServing(control) ? true : nil }
            return (p, run)
        }

        /// The power cut: SIGKILL every process (a process whose sync is blocked by `freeze` ends
        /// once the cut fails that sync), cut, wait for them all.
        func powerCut() throws {
            for p in processes where p.isRunning { p.signal(SIGKILL) }
            try fs.cut()
            for p in processes { try p.waitForExit(timeout: 10) }
        }

        func close() {
            for p in processes where p.isRunning { p.signal(SIGKILL) }
            try? fs.command("thaw")
            try? fs.command("revive")
            for p in processes { _ = try? p.waitForExit(timeout: 10) }
            fs.unmount()
            home.cleanup()
        }

        /// Every event of ES's journal in order: the rotated file, the sealed segments (a rotation
        /// while some events were not acked yet), then `events.ndjson`.
        func events() -> [Event] { JournalFiles.events(JournalFiles(folder: stateDir + "/ES").all) }

        func events(_ type: EventType, run: String? = nil) -> [Event] {
            events().filter { $0.type == type.rawValue && (run == nil || $0.runID == run) }
        }

        /// The applied seq of each ES run in the watchdog's snapshot file as it is now: what the
        /// watchdog has saved (and acks).
        func watchdogSaved() -> [String: Int64] {
            guard let data = FileManager.default.contents(atPath: stateDir + "/watchdog/snapshot.json"),
                let runs = (try? JSONParser.parse(Array(data)))?.objectValue?["state"]?.objectValue?["markets"]?.objectValue?["ES"]?
                    .objectValue?["runs"]?.arrayValue
            else { return [:] }
            var out: [String: Int64] = [:]
            for r in runs.compactMap(\.objectValue) {
                if let id = r["run_id"]?.stringValue, let seq = r["applied_seq"]?.intValue { out[id] = seq }
            }
            return out
        }

        /// Sends one tick on the file feed (keeps the market data fresh; fills market orders).
        func tick(_ price: Double = 5000) throws {
            let tick = "{\"instrument\":\"MES\",\"price\":\(price),\"size\":1,\"time\":\"\(UTCTimestamp.now())\"}\n"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: home.path + "/feed-ES.ndjson"))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(tick.utf8))
        }

        /// Places a SIM market order with `robot-worker order`, fills it with a tick, and returns
        /// its client order ID.
        func placeAndFill(stream: String) throws -> String {
            try tick()
            let p = try home.start(
                "robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--stream", stream], name: "order")
            let status = try p.waitForExit()
            guard status == 0, let range = p.stdout.range(of: #"SIM-ES-F[0-9]+-[0-9]+"#, options: .regularExpression) else {
                throw TestFailure("robot-worker order exited \(status): \(p.stdout) \(p.stderr)")
            }
            let id = String(p.stdout[range])
            try tick()
            try waitFor("\(id) to be filled") {
                events(.orderFilled).contains { $0.data["client_order_id"]?.stringValue == id } ? true : nil
            }
            return id
        }

        /// Waits until the watchdog has saved every event `run` journaled.
        func waitUntilSaved(_ run: String) throws {
            try waitFor("the watchdog to save all of \(run)", seen: { "saved \(self.watchdogSaved()), journal \(self.lastSeq(run))" }) {
                let last = lastSeq(run)
                return last > 0 && watchdogSaved()[run] == last ? true : nil
            }
        }

        func lastSeq(_ run: String) -> Int64 { events().filter { $0.runID == run }.compactMap(\.seq).max() ?? 0 }

        /// No event the watchdog saved (and so may have acked) is missing from the worker's journal:
        /// for every run in the watchdog's snapshot, the journal holds its applied seq and every seq
        /// from its first kept event up to it.
        func expectWatchdogStateInJournal(_ when: String) {
            let saved = watchdogSaved()
            let events = events()
            for (run, applied) in saved where applied > 0 {
                let seqs = Set(events.filter { $0.runID == run }.compactMap(\.seq))
                #expect(
                    seqs.contains(applied), "\(when): the watchdog saved \(run) up to seq \(applied); the journal holds \(seqs.max() ?? 0)")
                if let low = seqs.min(), low <= applied {
                    let missing = (low...applied).filter { !seqs.contains($0) }
                    #expect(missing.isEmpty, "\(when): the journal lost seqs \(missing.prefix(10)) of \(run) the watchdog saved")
                }
            }
        }

        func fenceOnDisk() -> Int64? {
            guard let data = FileManager.default.contents(atPath: fencePath) else { return nil }
            return (try? JSONParser.parse(Array(data).filter { $0 != UInt8(ascii: "\n") }))?.objectValue?["fence"]?.intValue
        }
    }

    func config() -> TestConfig {
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES"), ("ES2", "ES")])]
        c.feeds["ES"] = #"{"kind": "file", "path": "feed-ES.ndjson"}"#
        c.extraSections["safety"] = #"{"market_data_stale_seconds": 1.5, "market_data_stalled_seconds": 3, "health_interval_seconds": 0.5}"#
        return c
    }

    /// The fence of a client order ID `SIM-ES-F7-000001`.
    func fence(of id: String) -> Int64 { Int64(id.split(separator: "-")[2].dropFirst()) ?? 0 }

    /// Three runs of one market, two power cuts: after a clean stop (the released record must stay
    /// released), and at the moment the fail-safe latch is reported (the cut comes right after
    /// `FAILSAFE_TRIGGERED` is synced to the journal, and nothing is written after it).
    @Test func journalFencesLatchAndOrderIDsSurviveTwoPowerCuts() throws {
        let rig = try Rig(config())
        defer { rig.close() }
        var ids: [String] = []

        // Run A: two orders, a clean stop, then the power goes.
        try rig.startWatchdog()
        let (a, runA) = try rig.startWorker()
        let fenceA = try #require(rig.events(.lockAcquired, run: runA).first?.fence)
        ids.append(try rig.placeAndFill(stream: "ES1"))
        ids.append(try rig.placeAndFill(stream: "ES2"))
        a.signal(SIGTERM)
        #expect(try a.waitForExit() == 0)
        try rig.waitUntilSaved(runA)
        try rig.powerCut()
        rig.expectWatchdogStateInJournal("after the first cut")
        #expect(rig.watchdogSaved()[runA] == rig.lastSeq(runA), "everything of \(runA) was saved before the cut: \(rig.watchdogSaved())")
        #expect((rig.fenceOnDisk() ?? 0) >= fenceA, "the fence file went back: \(String(describing: rig.fenceOnDisk())) < \(fenceA)")

        // Run B: the released lock stays released (no stale report), the fence goes up.
        try rig.startWatchdog()
        let (_, runB) = try rig.startWorker()
        let fenceB = try #require(rig.events(.lockAcquired, run: runB).first?.fence)
        #expect(fenceB > fenceA)
        #expect(
            rig.events(.lockStale, run: runB).isEmpty, "run A released the lock cleanly: \(rig.events(.lockStale, run: runB).map(\.data))")
        #expect(rig.events(.systemModeChange, run: runB).last?.data["to"]?.stringValue == "AGGRESSIVE")
        ids.append(try rig.placeAndFill(stream: "ES1"))
        ids.append(try rig.placeAndFill(stream: "ES2"))
        // The feed stops; the cut comes the moment FAILSAFE_TRIGGERED is on disk.
        try rig.fs.command("arm FAILSAFE_TRIGGERED")
        try waitFor("the latch to be journaled and the power to go", timeout: 20, seen: { "\(rig.fs.status()) \(rig.fs.log)" }) {
            rig.fs.status()["dead"] == 1 ? true : nil
        }
        try rig.powerCut()
        try rig.fs.command("revive")
        let trip = try #require(rig.events(.failsafeTriggered, run: runB).last, "FAILSAFE_TRIGGERED was synced, so it is in the journal")
        #expect(trip.data["trigger"]?.stringValue == "MARKET_DATA_STALLED")
        rig.expectWatchdogStateInJournal("after the second cut")
        #expect((rig.fenceOnDisk() ?? 0) >= fenceB, "the fence file went back: \(String(describing: rig.fenceOnDisk())) < \(fenceB)")

        // Run C: the crash is reported, the fence goes up, the latch is still set.
        let watchdog = try rig.startWatchdog()
        let (_, runC) = try rig.startWorker()
        let fenceC = try #require(rig.events(.lockAcquired, run: runC).first?.fence)
        #expect(fenceC > fenceB)
        #expect(
            rig.events(.lockStale, run: runC).first?.data["stale_run_id"]?.stringValue == runB,
            "run B died holding the lock: \(rig.events(.lockStale, run: runC).map(\.data))")
        let firstMode = try #require(rig.events(.systemModeChange, run: runC).first)
        #expect(firstMode.data["to"]?.stringValue == "SHUTDOWN", "the latch reported set before the cut is gone: \(firstMode.data)")
        #expect(firstMode.data["latch"]?.objectValue?["trigger"]?.stringValue == "MARKET_DATA_STALLED", "\(firstMode.data)")
        // The watchdog gets every event of run B again from the journal; no fence regression.
        try waitFor(
            "the watchdog to apply all of \(runB) and \(runC)'s start",
            seen: { "\(String(describing: rig.home.quickStatus()?.markets["ES"]?.runs))" }
        ) { () -> Bool? in
            guard let es = rig.home.quickStatus()?.markets["ES"] else { return nil }
            return es.applied(runB) == rig.lastSeq(runB) && es.latch != nil ? true : nil
        }
        let status = try rig.home.statusJSON()
        #expect(status.markets["ES"]?.latch?.trigger == "MARKET_DATA_STALLED")
        #expect(
            status.markets["ES"]?.alerts.contains { $0.condition == "FENCE_REGRESSION" } == false,
            "\(String(describing: status.markets["ES"]?.alerts))")
        #expect(status.markets["ES"]?.fenceHighWater == fenceC)

        // The operator clears the latch; new orders never reuse an ID.
        let ack = try rig.home.watchdogCommand(["ack", "ES"])
        #expect(ack.status == 0, "\(ack.stdout) \(ack.stderr)")
        try waitFor("run C back in AGGRESSIVE") {
            rig.events(.systemModeChange, run: runC).last?.data["to"]?.stringValue == "AGGRESSIVE" ? true : nil
        }
        try rig.tick()
        ids.append(try rig.placeAndFill(stream: "ES1"))
        ids.append(try rig.placeAndFill(stream: "ES2"))
        #expect(Set(ids).count == ids.count, "a client order ID repeats: \(ids)")
        let fences = ids.map(fence(of:))
        #expect(fences == fences.sorted() && fences.first == fenceA && fences.last == fenceC, "\(ids)")
        #expect(watchdog.isRunning)
        #expect(rig.fs.status()["fsyncs", default: 0] > 0)
    }

    /// A refused worker's connection from this process (fence 0, our pid): the one worker hello a
    /// process holding no lock may send. Returns the client and the welcome's applied seq for `run`.
    func connect(_ home: TestHome, run: String) throws -> (LineClient, Int64) {
        let client = try LineClient(path: home.watchdogSocket)
        try client.send(
            Array(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"\#(run)","pid":\#(getpid()),"fence":0}"#.utf8))
        let welcome = try JSONParser.parse(try client.readLine(timeoutSeconds: 5))
        guard welcome.objectValue?["type"]?.stringValue == "welcome" else { throw TestFailure("no welcome: \(welcome)") }
        return (client, welcome.objectValue?["applied"]?.objectValue?[run]?.intValue ?? 0)
    }

    func event(run: String, seq: Int) -> [UInt8] {
        Array(
            #"{"v":1,"type":"CANONICAL_MARKET_ALREADY_ACTIVE","market":"ES","run_id":"\#(run)","pid":\#(getpid()),"fence":0,"seq":\#(seq),"ts":"\#(UTCTimestamp.now())","data":{"holder_run_id":null}}"#
                .utf8)
    }

    /// The highest seq acked on `client` within `seconds` (0 when none).
    func acks(_ client: LineClient, run: String, for seconds: Double, until seq: Int64? = nil) -> Int64 {
        var highest: Int64 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let line = try? client.readLine(timeoutSeconds: max(0.01, deadline.timeIntervalSinceNow)),
                let o = (try? JSONParser.parse(line))?.objectValue, o["type"]?.stringValue == "ack", o["run_id"]?.stringValue == run,
                let s = o["seq"]?.intValue
            else { continue }
            highest = max(highest, s)
            if let seq, highest >= seq { break }
        }
        return highest
    }

    /// The watchdog acks only what is on disk: while the disk does not answer its syncs, nothing
    /// new is acked, and after the power cut its state holds every seq it ever acked.
    @Test func theWatchdogAcksOnlyWhatSurvivesAPowerCut() throws {
        let rig = try Rig(config())
        defer { rig.close() }
        try rig.startWatchdog()
        let run = "ES-20261121T071500Z-\(String(getpid(), radix: 16))"
        let (client, _) = try connect(rig.home, run: run)
        for seq in 1...3 { try client.send(event(run: run, seq: seq)) }
        let before = acks(client, run: run, for: 10, until: 3)
        #expect(before == 3, "acked \(before) of 3 with a disk that answers")
        // The disk stops answering: events 4 and 5 are applied but their snapshot cannot be synced.
        try rig.fs.command("freeze")
        for seq in 4...5 { try client.send(event(run: run, seq: seq)) }
        // Once the snapshot holding them waits in its fsync, an ack sent any earlier is readable.
        try waitFor("the watchdog's snapshot sync to block", seen: { "\(rig.fs.status())" }) {
            rig.fs.status()["blocked", default: 0] >= 1 ? true : nil
        }
        let during = acks(client, run: run, for: 0.3, until: 5)
        #expect(during == 0, "acked seq \(during) while its snapshot could not be synced")
        try rig.powerCut()
        try rig.startWatchdog()
        let (_, applied) = try connect(rig.home, run: run)
        let acked = max(before, during)
        #expect(applied >= acked, "the watchdog acked seq \(acked) but came back after the power cut with \(applied)")
        #expect(applied == 3, "seq 4 and 5 were never synced: applied \(applied)")
    }

    /// A journal rotated while the watchdog keeps acking: the rename and the new journal must be
    /// durable before any event in the new file is sent on.
    @Test func aRotatedJournalKeepsEveryAckedEventThroughAPowerCut() throws {
        var config = config()
        config.feeds = [:]
        config.invariantsInterval = 0.02
        config.extraSections["worker"] = #"{"journal_max_bytes": 4096}"#
        config.extraSections["safety"] = nil
        let rig = try Rig(config)
        defer { rig.close() }
        try rig.startWatchdog()
        let (_, run) = try rig.startWorker()
        let rotated = rig.stateDir + "/ES/events.1.ndjson"
        // Twice rotated, and the watchdog has saved events of the current file.
        var rotations = Set<Int64>()
        try waitFor(
            "two rotations with saved events after them", timeout: 20,
            seen: { "rotated files starting at \(rotations), saved \(rig.watchdogSaved())" }
        ) { () -> Bool? in
            guard let data = FileManager.default.contents(atPath: rotated),
                let first = data.split(separator: UInt8(ascii: "\n")).first.flatMap({ try? Event.decode(line: Array($0)) })?.seq
            else { return nil }
            rotations.insert(first)
            let current = FileManager.default.contents(atPath: rig.stateDir + "/ES/events.ndjson").flatMap {
                $0.split(separator: UInt8(ascii: "\n")).first.flatMap { try? Event.decode(line: Array($0)) }?.seq
            }
            guard rotations.count >= 2, let current, let saved = rig.watchdogSaved()[run], saved > current else { return nil }
            return true
        }
        try rig.powerCut()
        let saved = rig.watchdogSaved()[run] ?? 0
        #expect(saved > 0, "the watchdog's snapshot survived: \(rig.watchdogSaved())")
        rig.expectWatchdogStateInJournal("after the cut")
        // The next run starts on the journal that is left, without a failed check.
        try rig.startWatchdog()
        let (_, next) = try rig.startWorker()
        let checks = try waitFor("the next run's STARTUP_CHECKS", seen: { "\(rig.events(.startupChecks, run: next).count) lines" }) {
            rig.events(.startupChecks, run: next).first
        }
        #expect(checks.data["passed"] == .bool(true), "\(checks.data)")
    }
}
