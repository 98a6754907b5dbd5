import Foundation
import Platform
import Testing
import Wire

/// Issue 9, "permissions and identity": the sockets' and folders' modes, clients run as an
/// unprivileged uid with the socket's group granted (reading works, changes are refused), and
/// processes that lie about their market or pid cannot change any market's state.
@Suite struct ReliabilityPermissionTests {
    static let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    static let nobody = ["/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]

    func mode(_ path: String) -> Int {
        var st = stat()
        return lstat(path, &st) == 0 ? Int(st.st_mode) & 0o7777 : -1
    }

    /// Runs `argv` as uid/gid 65534 (no supplementary groups) and waits for it.
    func asNobody(_ home: TestHome, _ argv: [String], stdin: String? = nil) throws -> CommandResult {
        let p = try RunningProcess(
            executable: Self.nobody[0], arguments: Array(Self.nobody.dropFirst()) + argv, environment: [:],
            logPrefix: home.path + "/nobody-\(UUID().uuidString.prefix(8))")
        let status = try p.waitForExit(timeout: 15)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    /// One request line to a socket from uid 65534 (python3's socket module), its one answer line.
    func askAsNobody(_ home: TestHome, socket: String, lines: [String]) throws -> CommandResult {
        let script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sys.argv[1])
            f = s.makefile("rwb")
            for line in sys.argv[2:]:
                f.write(line.replace("PID", str(os.getpid())).encode() + b"\\n"); f.flush()
                print(f.readline().decode().strip(), flush=True)
            """
        return try asNobody(home, ["/usr/bin/python3", "-c", script, socket] + lines)
    }

    @Test(.enabled(if: canSwitchUser, "needs root and setpriv to run clients as uid 65534"))
    func socketsAre0660InFolders0750AndUid65534WithTheGroupReadsButChangesNothing() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        try home.startWatchdog()
        _ = try home.startSupervisor()
        let before = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let workerSocket = home.socketDir + "/worker-ES.sock"
        try waitFor("the ES worker's control socket") { UnixSocket.isServing(workerSocket) ? true : nil }

        // Modes as created by the programs themselves.
        #expect(mode(home.socketDir) == 0o750, "socket folder \(String(mode(home.socketDir), radix: 8))")
        #expect(mode(home.stateDir + "/watchdog") == 0o750)
        for socket in [home.watchdogSocket, home.supervisorSocket, workerSocket] {
            #expect(mode(socket) == 0o660, "\(socket): \(String(mode(socket), radix: 8))")
        }

        // Without the group, uid 65534 cannot even connect.
        chmod(home.path, 0o711)
        chmod(home.configPath, 0o644)
        let shut = try asNobody(home, [Binaries.path("watchdog"), "status", "--config", home.configPath, "--home", home.path])
        #expect(shut.status == 77, "the 0750 folder keeps uid 65534 out, reported as not permitted: \(shut.status) \(shut.stderr)")
        #expect(shut.stderr.contains("permission denied"), "\(shut.stderr)")
        let shutOrder = try asNobody(
            home,
            [
                Binaries.path("robot-worker"), "order", "--market", "ES", "--side", "buy", "--qty", "1", "--config", home.configPath,
                "--home", home.path,
            ])
        #expect(
            shutOrder.status == 77 && shutOrder.stderr.contains("permission denied"),
            "\(shutOrder.status) \(shutOrder.stdout)\(shutOrder.stderr)")
        #expect(shutOrder.stdout.isEmpty, "errors go to stderr: \(shutOrder.stdout)")

        // Grant the sockets' group (65534) on the folder and the sockets, as an operator would with a group.
        for p in [home.socketDir, home.watchdogSocket, home.supervisorSocket, workerSocket] {
            #expect(chown(p, uid_t.max, 65534) == 0, "chgrp \(p)")
        }
        #expect(mode(home.socketDir) == 0o750 && mode(workerSocket) == 0o660, "modes unchanged: only the group is granted")
        let common = ["--config", home.configPath, "--home", home.path]

        // Reading works.
        let wstatus = try asNobody(home, [Binaries.path("watchdog"), "status", "--json"] + common)
        #expect(wstatus.status == 0 || wstatus.status == 1, "\(wstatus.stderr)")
        #expect(wstatus.stdout.contains("\"markets\""))
        let sstatus = try asNobody(home, [Binaries.path("supervisor"), "status"] + common)
        #expect(sstatus.status == 0, "\(sstatus.stderr)")
        let orders = try askAsNobody(home, socket: workerSocket, lines: [#"{"v":1,"type":"orders"}"#])
        #expect(orders.status == 0, "\(orders.stderr)")
        #expect(orders.stdout.contains(#""ok":true"#) && orders.stdout.contains(#""outcome":"orders""#), "\(orders.stdout)")

        // Every change is refused.
        let order = try asNobody(home, [Binaries.path("robot-worker"), "order", "--market", "ES", "--side", "buy", "--qty", "1"] + common)
        #expect(order.status == 77, "\(order.stdout)\(order.stderr)")
        #expect(order.stderr.contains("may not place or cancel"), "\(order.stdout)\(order.stderr)")
        let raw = try askAsNobody(
            home, socket: workerSocket,
            lines: [#"{"v":1,"type":"order","side":"buy","quantity":1}"#, #"{"v":1,"type":"cancel","client_order_id":"SIM-ES-F1-000001"}"#])
        #expect(raw.stdout.split(separator: "\n").count == 2)
        #expect(raw.stdout.split(separator: "\n").allSatisfy { $0.contains(#""outcome":"not_permitted""#) }, "\(raw.stdout)")
        let ack = try asNobody(home, [Binaries.path("watchdog"), "ack", "ES"] + common)
        #expect(ack.status == 77, "\(ack.stderr)")
        for command in [["stop", "ES"], ["start", "ES"], ["restart", "NQ"], ["reload"]] {
            let r = try asNobody(home, [Binaries.path("supervisor")] + command + common)
            #expect(r.status == 77, "\(command): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("permission denied"), "\(command): \(r.stderr)")
        }
        // A worker hello from uid 65534 (its own pid): refused, whatever it claims.
        let hello = try askAsNobody(
            home, socket: home.watchdogSocket,
            lines: [#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"ES-20261121T071500Z-deadbeef","pid":PID,"fence":0}"#])
        #expect(hello.stdout.contains("error"), "\(hello.stdout) \(hello.stderr)")

        // Nothing changed: same workers, no order, no acknowledgement.
        let after = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        for m in ["ES", "NQ", "CL"] { #expect(after.pid(m) == before.pid(m), "\(m) was not restarted") }
        #expect(home.events("ES", type: .orderPlaced).isEmpty)
        let status = try #require(home.quickStatus())
        #expect((status.rejected["not_permitted"] ?? 0) >= 1)
        #expect(status.markets.values.allSatisfy { $0.alerts.allSatisfy { !$0.acknowledged } })
    }

    @Test func aHelloForAnotherMarketOrWithAnotherPidCannotChangeAnyMarketsState() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        var config = TestConfig()
        config.invariantsInterval = 0.05
        try home.writeConfig(config)
        try home.startWatchdog()
        let es = try home.start("robot-worker", ["--market", "ES"])
        let nq = try home.start("robot-worker", ["--market", "NQ"])
        let esRun = try home.runID("ES", pid: es.pid)
        let nqRun = try home.runID("NQ", pid: nq.pid)
        let before = try waitFor("both workers applied") { () -> StatusJSON? in
            let s = home.quickStatus()
            return (s?.markets["ES"]?.applied(esRun) ?? 0) > 3 && (s?.markets["NQ"]?.applied(nqRun) ?? 0) > 3
                && s?.markets["ES"]?.heartbeatState == "OK" ? s : nil
        }
        let me = getpid()
        let ts = UTCTimestamp.now()
        func event(_ type: String, _ market: String, run: String, fence: Int, seq: Int?, data: String = "{}") -> String {
            let seqField = seq.map { ",\"seq\":\($0)" } ?? ""
            return
                #"{"v":1,"type":"\#(type)","market":"\#(market)","run_id":"\#(run)","pid":\#(me),"fence":\#(fence)\#(seqField),"ts":"\#(ts)","data":\#(data)}"#
                + "\n"
        }
        func reply(_ c: RawClient) -> String {
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
        }
        let fakeRun = "ES-20261121T071500Z-deadbeef"

        // 1. Our own pid, as the holder of ES with a high fence: we hold no ES lock.
        let claimant = try RawClient(path: home.watchdogSocket)
        claimant.write(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"\#(fakeRun)","pid":\#(me),"fence":1000}"# + "\n")
        #expect(reply(claimant).contains("peer_mismatch"))
        claimant.write(event("CANONICAL_MARKET_LOCK_ACQUIRED", "ES", run: fakeRun, fence: 1000, seq: 1, data: #"{"fence":1000}"#))
        // 2. The NQ worker's pid, for NQ: the pid is not ours.
        let impostor = try RawClient(path: home.watchdogSocket)
        impostor.write(#"{"v":1,"type":"hello","role":"worker","market":"NQ","run_id":"\#(nqRun)","pid":\#(nq.pid),"fence":1}"# + "\n")
        #expect(reply(impostor).contains("peer_mismatch"))
        // 3. The ES worker's own fence and run, from us: we are not its pid and hold no lock.
        let copycat = try RawClient(path: home.watchdogSocket)
        copycat.write(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"\#(esRun)","pid":\#(me),"fence":1}"# + "\n")
        #expect(reply(copycat).contains("peer_mismatch"))
        // 4. A refused worker's hello (fence 0, our pid): accepted, but it speaks only for its own
        // run at fence 0 and can change no holder, mode, latch, fence or heartbeat.
        let refused = try RawClient(path: home.watchdogSocket)
        refused.write(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"\#(fakeRun)","pid":\#(me),"fence":0}"# + "\n")
        #expect(reply(refused).contains("welcome"))
        let forged = [
            event("CANONICAL_MARKET_LOCK_ACQUIRED", "ES", run: fakeRun, fence: 1000, seq: 1, data: #"{"fence":1000}"#),
            event(
                "SYSTEM_MODE_CHANGE", "ES", run: esRun, fence: 1, seq: 100_000,
                data: #"{"from":"AGGRESSIVE","to":"SHUTDOWN","reason":"forged","latch":null}"#),
            event(
                "FAILSAFE_TRIGGERED", "ES", run: "ES-20261121T071500Z-0badf00d", fence: 0, seq: 1,
                data: #"{"trigger":"MARKET_DATA_STALLED","reason":"forged","open_orders":0}"#),
            event("IDENTITY_INVARIANTS_STATUS", "ES", run: esRun, fence: 0, seq: 100_001, data: #"{"pass":false,"violations":["forged"]}"#),
            event("HEARTBEAT", "ES", run: fakeRun, fence: 0, seq: nil, data: #"{"mode":"SHUTDOWN","last_seq":0}"#),
            event("CANONICAL_MARKET_LOCK_STALE", "NQ", run: fakeRun, fence: 0, seq: 1),
        ]
        for line in forged { refused.write(line) }

        let after = try waitFor("the forged lines counted", seen: { "\(home.quickStatus()?.rejected ?? [:])" }) { () -> StatusJSON? in
            guard let s = home.quickStatus(), (s.rejected["not_permitted"] ?? 0) >= 5, (s.rejected["wrong_market"] ?? 0) >= 1,
                (s.rejected["peer_mismatch"] ?? 0) >= 3,
                (s.markets["ES"]?.applied(esRun) ?? 0) > before.markets["ES"]!.applied(esRun)
            else { return nil }
            return s
        }
        withExtendedLifetime((claimant, impostor, copycat)) {}
        #expect(after.rejected["peer_mismatch"] == 3)
        #expect(after.rejected["not_permitted"] == 5)
        #expect(after.rejected["wrong_market"] == 1)
        for m in ["ES", "NQ"] {
            let b = try #require(before.markets[m])
            let a = try #require(after.markets[m])
            #expect(a.lock?.pid == b.lock?.pid && a.lock?.runId == b.lock?.runId && a.lock?.fence == b.lock?.fence, "\(m) holder unchanged")
            #expect(a.fenceHighWater == b.fenceHighWater, "\(m) fence high-water unchanged")
            #expect(a.mode == "AGGRESSIVE" && a.latch == nil, "\(m) mode unchanged")
            #expect(a.lastIdentityInvariantsPass == true)
            #expect(a.alerts.isEmpty, "\(m): \(a.alerts.map(\.condition))")
            #expect(a.heartbeatState == "OK")
            #expect(a.counters.gaps == 0 && a.counters.staleFence == 0)
            #expect(!a.runs.contains { $0.runId == fakeRun })
        }
        #expect(after.markets["ES"]?.applied(esRun) ?? 0 < 100_000, "no forged seq was applied to the real run")
        #expect(es.isRunning && nq.isRunning)
    }
}
