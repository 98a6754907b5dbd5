import Foundation
import Testing
import Wire

/// Issue 9, "disk faults": the market's state folder on a small tmpfs that the test fills up, or
/// remounts read-only, under a live worker. The worker reports the failure, journals nothing half
/// and sends nothing it did not journal, trips the EVENT_LOG_FAILING fail-safe, and once the disk
/// takes writes again journals the trip it could not write, persists the latch, and resumes: its
/// seqs stay gapless, the watchdog applies every one, and an operator's ack clears the latch.
@Suite struct ReliabilityDiskFaultTests {
    static let canMount = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")

    @discardableResult
    func sh(_ argv: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Writes `path` until the file system refuses (ENOSPC).
    func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x55, count: 512)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    @Test(.enabled(if: canMount, "needs root to mount a tmpfs"), arguments: ["full"])
    func aFailingJournalIsReportedTripsTheFailSafeAndServiceResumesLatchedWhenTheDiskIsBack(_ fault: String) throws {
        let home = try TestHome()
        var config = TestConfig()
        config.invariantsInterval = 0.05
        config.heartbeatInterval = 0.1
        config.lostSeconds = 1.0
        config.extraSections["safety"] = #"{"event_log_failing_seconds": 1.0, "health_interval_seconds": 0.2}"#
        try home.writeConfig(config)
        let folder = home.stateDir + "/ES"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try sh(["/bin/mount", "-t", "tmpfs", "-o", "size=256k,mode=0750", "tmpfs", folder]) == 0)
        defer {
            home.cleanup() // ends the processes first
            _ = try? sh(["/bin/umount", "-l", folder])
            try? FileManager.default.removeItem(atPath: home.path)
        }
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let run = try home.runID("ES", pid: worker.pid)
        try waitFor("ES applied") { (home.quickStatus()?.markets["ES"]?.applied(run) ?? 0) >= 5 ? true : nil }

        // The fault.
        let filler = folder + "/filler"
        fill(filler)
        try waitFor("the worker to report the failure", seen: { worker.stderr }) {
            worker.stderr.contains("journal write failed") ? true : nil
        }
        // A line shorter than what is left of the journal's last page still fits (tmpfs allocates
        // whole pages), so the journal may take a few more lines: it stops growing once that tail is
        // used up too (the heartbeats, every 0.1 s, use it up within a second).
        var stable = (size: -1, since: Date())
        try waitFor("the journal to stop growing", seen: { "\(stable.size) bytes" }) { () -> Bool? in
            let size = (try? FileManager.default.attributesOfItem(atPath: home.journal("ES"))[.size] as? Int) ?? -1
            if size != stable.size {
                stable = (size, Date())
                return nil
            }
            return Date().timeIntervalSince(stable.since) >= 1 ? true : nil
        }
        let during = home.lastSeq("ES", runID: run)
        // Nothing journaled, nothing sent: the watchdog loses its heartbeats (an alert) while the
        // worker stays up and the fail-safe trips in memory after event_log_failing_seconds.
        try waitFor("the watchdog to lose the heartbeat", timeout: 10) {
            home.quickStatus()?.markets["ES"]?.alerts.contains { $0.condition == "HEARTBEAT_LOST" } == true ? true : nil
        }
        // The trip happens in memory first (its events wait for the journal): the worker logs it.
        try waitFor("the fail-safe to trip while the disk is full", seen: { worker.stderr }) {
            worker.stderr.contains("-> SHUTDOWN") ? true : nil
        }
        #expect(worker.isRunning, "a failing disk never crashes the worker: \(worker.stderr)")
        #expect(home.lastSeq("ES", runID: run) == during, "nothing was journaled meanwhile")

        // The disk takes writes again.
        #expect(unlink(filler) == 0)
        let trip = try waitFor("the trip journaled once the journal works", seen: { worker.stderr }) {
            home.events("ES", type: .failsafeTriggered).first { $0.runID == run }
        }
        #expect(trip.data["trigger"]?.stringValue == "EVENT_LOG_FAILING")
        #expect(worker.stderr.contains("journal writes work again"), "\(worker.stderr)")
        let snapshot = try waitFor("the latch persisted") { () -> String? in
            let text = try? String(contentsOfFile: folder + "/snapshot.json", encoding: .utf8)
            return text?.contains("EVENT_LOG_FAILING") == true ? text : nil
        }
        #expect(snapshot.contains("SHUTDOWN"))
        // Seqs gapless, each applied once, and the watchdog knows the latch.
        let latched = try waitFor("the watchdog to show the latch and catch up") { () -> StatusJSON? in
            guard let s = home.quickStatus(), let m = s.markets["ES"], m.latch?.trigger == "EVENT_LOG_FAILING",
                m.heartbeatState == "OK", m.applied(run) >= trip.seq!
            else { return nil }
            return s
        }
        let es = try #require(latched.markets["ES"])
        #expect(es.mode == "SHUTDOWN")
        #expect(es.alerts.contains { $0.condition == "FAILSAFE_LATCHED" })
        #expect(es.counters.gaps == 0)
        let seqs = home.events("ES").filter { $0.runID == run }.compactMap(\.seq)
        #expect(seqs == Array(1...Int64(seqs.count)), "gapless: a seq that failed to journal was reused")
        #expect(home.events("ES").allSatisfy { $0.market == "ES" }, "no half line in the journal")
        // An operator's ack clears the latch through the worker: service resumes.
        let ack = try home.watchdogCommand(["ack", "ES"])
        #expect(ack.status == 0, "\(ack.stdout)\(ack.stderr)")
        try waitFor("AGGRESSIVE again") { home.quickStatus()?.markets["ES"]?.mode == "AGGRESSIVE" ? true : nil }
        #expect(worker.isRunning)
    }

    /// `mount -o remount,ro` is refused (EBUSY) while the worker holds its journal open for writing;
    /// what makes a live file system read-only is the kernel itself on an I/O error (ext4
    /// `errors=remount-ro`), reproduced here with ext4's `trigger_fs_error` on a loop device. It
    /// cannot be made writable again without an unmount and fsck, so the worker is stopped, the
    /// file system repaired, and a new run started.
    @Test(
        .enabled(
            if: canMount && FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.ext4"), "needs root, loop devices and mkfs.ext4"))
    func aStateFolderForcedReadOnlyUnderTheWorkerIsReportedFailsSafeAndTheNextRunResumesEveryEvent() throws {
        let home = try TestHome()
        var config = TestConfig()
        config.invariantsInterval = 0.05
        config.extraSections["safety"] = #"{"event_log_failing_seconds": 1.0, "health_interval_seconds": 0.2}"#
        try home.writeConfig(config)
        let folder = home.stateDir + "/ES"
        let image = home.path + "/state-ES.img"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try sh(["/usr/bin/truncate", "-s", "8M", image]) == 0)
        #expect(try sh(["/usr/sbin/mkfs.ext4", "-q", "-F", image]) == 0)
        #expect(try sh(["/bin/mount", "-o", "loop,errors=remount-ro", image, folder]) == 0)
        defer {
            home.cleanup()
            _ = try? sh(["/bin/umount", "-l", folder])
            try? FileManager.default.removeItem(atPath: home.path)
        }
        try home.startWatchdog()
        let first = try home.start("robot-worker", ["--market", "ES"])
        let run = try home.runID("ES", pid: first.pid)
        try waitFor("ES applied") { (home.quickStatus()?.markets["ES"]?.applied(run) ?? 0) >= 5 ? true : nil }
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        var device = ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count > 1, fields[1] == folder { device = fields[0].components(separatedBy: "/").last ?? "" }
        }
        #expect(device.hasPrefix("loop"), "\(device)")
        try "1".write(toFile: "/sys/fs/ext4/\(device)/trigger_fs_error", atomically: false, encoding: .utf8)

        try waitFor("the worker to report the failure", seen: { first.stderr }) {
            first.stderr.contains("journal write failed") ? true : nil
        }
        #expect(first.stderr.contains("journal write failed:"), "\(first.stderr)")
        print("read-only: \(first.stderr.split(separator: "\n").filter { $0.contains("journal write failed") })")
        let control = home.socketDir + "/worker-ES.sock"
        try waitFor("the fail-safe to hold SHUTDOWN", timeout: 10) { () -> Bool? in
            guard let c = try? LineClient(path: control) else { return nil }
            try? c.send(Array(#"{"v":1,"type":"orders"}"#.utf8))
            let answer = (try? c.readLine(timeoutSeconds: 2)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return answer.contains(#""mode":"SHUTDOWN""#) ? true : nil
        }
        let order = try home.start("robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1"], name: "order")
        #expect(try order.waitForExit() == 1, "blocked: \(order.stdout)")
        #expect(first.isRunning, "a read-only disk never crashes the worker: \(first.stderr)")
        let journaled = home.lastSeq("ES", runID: run)

        // The operator stops the worker, repairs the file system, and starts the market again.
        first.signal(SIGTERM)
        let status = try first.waitForExit()
        #expect(status == 0, "\(first.stderr)")
        #expect(try sh(["/bin/umount", folder]) == 0)
        _ = try sh(["/usr/sbin/fsck.ext4", "-p", image])
        #expect(try sh(["/bin/mount", "-o", "loop,errors=remount-ro", image, folder]) == 0)
        let second = try home.start("robot-worker", ["--market", "ES"])
        let acquired = try home.acquired("ES", pid: second.pid)
        #expect(acquired.fence == 2)
        let seqs = home.events("ES").filter { $0.runID == run }.compactMap(\.seq)
        #expect(seqs == Array(1...Int64(seqs.count)) && Int64(seqs.count) == journaled, "the first run's journal is whole")
        try waitFor("every event the first run journaled applied once") { () -> Bool? in
            guard let m = home.quickStatus()?.markets["ES"] else { return nil }
            return m.applied(run) == journaled && m.counters.gaps == 0 ? true : nil
        }
    }

    @Test(.enabled(if: canMount, "needs root to mount a tmpfs"))
    func aReadOnlyStateFolderAtStartIsAClearErrorNeverAHeldLock() throws {
        let home = try TestHome()
        try home.writeConfig(TestConfig())
        let folder = home.stateDir + "/ES"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try sh(["/bin/mount", "-t", "tmpfs", "-o", "size=256k,ro", "tmpfs", folder]) == 0)
        defer {
            home.cleanup()
            _ = try? sh(["/bin/umount", "-l", folder])
            try? FileManager.default.removeItem(atPath: home.path)
        }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        #expect(try worker.waitForExit() == 73, "\(worker.stderr)")
        #expect(worker.stderr.contains(folder), "\(worker.stderr)")
        #expect(lockIsFree(home.lockFile("ES")) || !FileManager.default.fileExists(atPath: home.lockFile("ES")))
    }
}
