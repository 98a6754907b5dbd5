import Foundation
import Platform
import Testing
import Wire

/// The guarantee at host scope with real processes (issue 14): one worker per (account, market)
/// whatever the home folder, fences and client order IDs that never repeat across homes and a
/// reboot, one supervisor per home, and no lock folder on a FUSE file system unless allowed.
///
/// Each test names its own host-wide guard folder (`ROBOT_GUARD_DIR`), never the host's
/// /var/lib/robot-runtime/guard, and its own accounts.
@Suite struct HostScopeTests {
    /// A host-wide guard folder shared by the homes of one test, removed at the end.
    final class SharedGuard {
        let path: String
        init() throws {
            var template = Array("/tmp/rtg.XXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
            path = String(cString: p) + "/guard"
        }
        var environment: [String: String] { ["ROBOT_GUARD_DIR": path] }
        func remove() { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    }

    func config(account: String) -> TestConfig {
        var c = TestConfig()
        c.extraSections["account"] = JSONValue.string(account).jsonText
        return c
    }

    func acquired(_ home: TestHome, _ market: String, pid: Int32) throws -> Event {
        try waitFor("\(market) worker \(pid) to journal CANONICAL_MARKET_LOCK_ACQUIRED", seen: { "\(home.events(market).map(\.type))" }) {
            home.events(market, type: .lockAcquired).last { $0.pid == pid }
        }
    }

    /// Places a SIM limit order with `robot-worker order` and returns its client order ID.
    func placeOrder(_ home: TestHome, environment: [String: String]) throws -> String {
        let p = try home.start(
            "robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"], environment: environment,
            name: "order")
        let status = try p.waitForExit()
        guard status == 0, let range = p.stdout.range(of: #"SIM-ES-F[0-9]+-[0-9]+"#, options: .regularExpression) else {
            throw TestFailure("robot-worker order exited \(status): \(p.stdout) \(p.stderr)")
        }
        let id = String(p.stdout[range])
        // Cancelled, so the stream is free for the next run (the snapshot carries open orders over).
        let cancel = try home.start("robot-worker", ["cancel", "--market", "ES", id], environment: environment, name: "cancel")
        guard try cancel.waitForExit() == 0 else { throw TestFailure("robot-worker cancel \(id): \(cancel.stdout) \(cancel.stderr)") }
        return id
    }

    @Test func twoHomesWithOneAccountAreRefusedAndTwoAccountsBothRun() throws {
        let shared = try SharedGuard()
        defer { shared.remove() }
        let a = try TestHome()
        defer { a.cleanup() }
        let b = try TestHome()
        defer { b.cleanup() }
        try a.writeConfig(config(account: "hs-one"))
        try b.writeConfig(config(account: "hs-one"))
        let first = try a.start("robot-worker", ["--market", "ES"], environment: shared.environment)
        let firstAcquired = try acquired(a, "ES", pid: first.pid)
        #expect(firstAcquired.fence == 1)

        // Another home, another configuration file, the same account: refused, naming the holder.
        let second = try b.start("robot-worker", ["--market", "MES"], environment: shared.environment)
        #expect(try second.waitForExit() == 100, "\(second.stderr)")
        #expect(second.stderr.contains("pid \(first.pid)"), "\(second.stderr)")
        #expect(second.stderr.contains("home \(a.path)"), "\(second.stderr)")
        #expect(second.stderr.contains("account hs-one, market ES is held host-wide"), "\(second.stderr)")
        #expect(b.events("ES", type: .lockAcquired).isEmpty)
        let refusal = try #require(b.events("ES", type: .alreadyActive).last, "\(b.events("ES").map(\.type))")
        #expect(refusal.data["holder_pid"]?.intValue == Int64(first.pid), "\(refusal.data.jsonTextForTest)")
        #expect(first.isRunning)

        // The same home folder B with another account runs beside it.
        try b.writeConfig(config(account: "hs-two"))
        let third = try b.start("robot-worker", ["--market", "ES"], environment: shared.environment)
        _ = try acquired(b, "ES", pid: third.pid)
        #expect(first.isRunning && third.isRunning)
        #expect(FileManager.default.fileExists(atPath: shared.path + "/hs-one/canonical_ES.lock"))
        #expect(FileManager.default.fileExists(atPath: shared.path + "/hs-two/canonical_ES.lock"))
    }

    /// "Reboot" for the host-wide guard: every process is gone (so every flock is released by the
    /// kernel) and everything under /run is gone (here: the homes' socket folders, and one home
    /// entirely), while /var/lib (here: the test's guard folder) is kept, as a disk is.
    @Test func fencesAndOrderIDsNeverRepeatAcrossHomesAndAReboot() throws {
        let shared = try SharedGuard()
        defer { shared.remove() }
        let a = try TestHome()
        defer { a.cleanup() }
        let b = try TestHome()
        defer { b.cleanup() }
        for home in [a, b] { try home.writeConfig(config(account: "hs-fence")) }
        var fences: [Int64] = []
        var orderIDs: [String] = []
        func run(_ home: TestHome) throws {
            let worker = try home.start("robot-worker", ["--market", "ES"], environment: shared.environment)
            fences.append(try acquired(home, "ES", pid: worker.pid).fence)
            let control = home.socketDir + "/worker-ES.sock"
            try waitFor("the ES worker's control socket", seen: { worker.stderr }) { UnixSocket.isServing(control) ? true : nil }
            orderIDs.append(try placeOrder(home, environment: shared.environment))
            worker.signal(SIGKILL)
            _ = try worker.waitForExit()
        }
        try run(a)
        try run(b)
        try run(a)
        // The reboot.
        for home in [a, b] { try? FileManager.default.removeItem(atPath: home.socketDir) }
        a.cleanup()
        let c = try TestHome()
        defer { c.cleanup() }
        try c.writeConfig(config(account: "hs-fence"))
        try run(c)
        try run(b)
        #expect(fences == [1, 2, 3, 4, 5], "\(fences)")
        #expect(Set(orderIDs).count == orderIDs.count, "\(orderIDs)")
        #expect(orderIDs.first == "SIM-ES-F1-000001", "\(orderIDs)")
        #expect(orderIDs.last == "SIM-ES-F5-000001", "\(orderIDs)")
    }

    static let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// Another Unix user (uid 65534) with its own home and the same account: while the holder
    /// lives it is refused with 100 naming it; once the holder is gone it is refused all the same
    /// (73), because the account's folder is the first user's: one user per account on a host.
    @Test(.enabled(if: canSwitchUser, "needs root and setpriv to run a worker as uid 65534"))
    func anotherUserWithTheSameAccountIsRefusedToo() throws {
        let shared = try SharedGuard()
        defer { shared.remove() }
        let root = (shared.path as NSString).deletingLastPathComponent
        #expect(chmod(root, 0o755) == 0)
        #expect(mkdir(shared.path, 0o755) == 0 && chmod(shared.path, 0o1777) == 0)
        let a = try TestHome()
        defer { a.cleanup() }
        let b = try TestHome()
        defer { b.cleanup() }
        try a.writeConfig(config(account: "hs-users"))
        try b.writeConfig(config(account: "hs-users"))
        #expect(chmod(b.path, 0o755) == 0 && chown(b.path, 65534, 65534) == 0)
        let holder = try a.start("robot-worker", ["--market", "ES"], environment: shared.environment)
        _ = try acquired(a, "ES", pid: holder.pid)
        func asNobody() throws -> (status: Int32, stderr: String) {
            let p = try RunningProcess(
                executable: "/usr/bin/setpriv",
                arguments: [
                    "--reuid", "65534", "--regid", "65534", "--clear-groups", Binaries.path("robot-worker"), "run", "--market", "ES",
                    "--config", b.configPath, "--home", b.path,
                ],
                environment: shared.environment, logPrefix: a.path + "/nobody-\(UUID().uuidString.prefix(8))")
            let status = try p.waitForExit(timeout: 15)
            return (status, p.stderr)
        }
        let refused = try asNobody()
        #expect(refused.status == 100, "\(refused.stderr)")
        #expect(refused.stderr.contains("by pid \(holder.pid) with home \(a.path)"), "\(refused.stderr)")
        holder.signal(SIGTERM)
        #expect(try holder.waitForExit() == 0)
        let unsafe = try asNobody()
        #expect(unsafe.status == 73, "\(unsafe.stderr)")
        #expect(unsafe.stderr.contains("\(shared.path)/hs-users: refused: owned by uid 0 (root)"), "\(unsafe.stderr)")
    }

    @Test func tenSupervisorsStartedAtOnceOnOneHomeExactlyOneServes() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var c = config(account: "hs-race")
        c.markets = ["ES": ("MES", [("ES1", "ES")])]
        try home.writeConfig(c.supervised())
        // A socket file left by a supervisor that was killed: each newcomer finds that nothing
        // answers on it and replaces it, which without the flock lets several bind in turn.
        try FileManager.default.createDirectory(atPath: home.socketDir, withIntermediateDirectories: true)
        close(try UnixSocket.listen(path: home.supervisorSocket))
        let supervisors = try (0..<10).map { i in try home.start("supervisor", ["run"], name: "supervisor-run-\(i)") }
        let server = try waitFor("all but one supervisor to exit", seen: { "running \(supervisors.filter(\.isRunning).map(\.pid))" }) {
            () -> RunningProcess? in
            let running = supervisors.filter(\.isRunning)
            return running.count == 1 ? running[0] : nil
        }
        for s in supervisors where s !== server {
            #expect(try s.waitForExit() == 100, "supervisor \(s.pid): \(s.stderr)")
            #expect(s.stderr.contains("another supervisor"), "\(s.stderr)")
        }
        try home.waitForStates(["ES": "RUNNING"])
        #expect(server.isRunning)
        #expect(try home.supervisor(["status", "--json"]).status == 0)
        // The one that serves is the one the kernel says holds the flock on supervisor.sock.lock.
        var st = stat()
        #expect(stat(home.supervisorSocket + ".lock", &st) == 0, "no \(home.supervisorSocket).lock")
        let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
        let holders = locks.split(separator: "\n").filter { $0.contains(" FLOCK ") && $0.contains(":\(st.st_ino) ") }
        #expect(holders.count == 1 && holders[0].contains(" \(server.pid) "), "supervisor \(server.pid), inode \(st.st_ino): \(holders)")
    }

    @Test func aLockFolderOnAFUSEFileSystemIsRefusedUnlessAllowed() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let fs: PowerLossMount
        do { fs = try PowerLossMount(home: home) } catch {
            // Without root or /dev/fuse no FUSE file system can be mounted here: say so, do not pass silently.
            Issue.record("cannot mount a FUSE file system to test with: \(error)")
            return
        }
        defer {
            home.cleanup()
            fs.unmount()
        }
        var c = config(account: "hs-fuse")
        c.extraSections["paths"] = #"{"lock_dir": "fs/locks"}"#
        try home.writeConfig(c)
        let refused = try home.start("robot-worker", ["--market", "ES"])
        #expect(try refused.waitForExit() == 78, "\(refused.stderr)")
        let lines = refused.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("\(fs.path)/locks: the lock folder is on a fuse"), "\(refused.stderr)")
        #expect(refused.stderr.contains("paths.allow_network_lock_dir"), "\(refused.stderr)")
        #expect(home.events("ES", type: .lockAcquired).isEmpty)

        c.extraSections["paths"] = #"{"lock_dir": "fs/locks", "allow_network_lock_dir": true}"#
        try home.writeConfig(c)
        let accepted = try home.start("robot-worker", ["--market", "ES"])
        _ = try acquired(home, "ES", pid: accepted.pid)
        accepted.signal(SIGTERM)
        #expect(try accepted.waitForExit() == 0, "\(accepted.stderr)")
    }
}
