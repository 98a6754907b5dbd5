import Foundation
import TestSupport
import Testing

/// The throwaway PostgreSQL cluster the lease's tests use (Tests/TestSupport/PostgresCluster.swift):
/// it starts as an unprivileged user on a loopback port, the test role logs in with its password
/// and not without it, `kill()` leaves no server process and refuses connections, `restart()`
/// recovers every committed write, `stop()` leaves neither a process nor the folder.
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"))
struct PostgresClusterTests {
    @Test func startsAsAnUnprivilegedUserAndTheTestRoleLogsInWithItsPasswordOnly() throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        let pid = try #require(pg.postmasterPID)
        // Not root: PostgreSQL would refuse, and the tests must not need it.
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first
        #expect(uid != nil && uid != "0", "\(status)")
        #expect(pg.port > 0 && pg.url == "postgresql://robot@127.0.0.1:\(pg.port)/robot")

        let ok = try pg.psqlOverTCP("SELECT current_user || ' ' || current_database()", password: pg.password)
        #expect(ok.status == 0 && ok.stdout == "robot robot", "\(ok)")
        let wrong = try pg.psqlOverTCP("SELECT 1", password: "not-the-password")
        #expect(wrong.status != 0 && wrong.stderr.contains("password authentication failed"), "\(wrong)")

        // The password file holds the password alone and nobody else may read it.
        #expect(try String(contentsOfFile: pg.passwordFile, encoding: .utf8) == pg.password)
        let mode = try FileManager.default.attributesOfItem(atPath: pg.passwordFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Settings for tests: no fsync, but a confirmed commit is in the WAL (see the fixture).
        #expect(try pg.psql("SHOW fsync") == "off")
        #expect(try pg.psql("SHOW synchronous_commit") == "on")
        #expect(try pg.psql("SHOW listen_addresses") == "127.0.0.1")
    }

    @Test func killLeavesNoServerProcessAndRestartRecoversEveryCommittedWrite() throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        let ok = try pg.psqlOverTCP("CREATE TABLE t(v int); INSERT INTO t VALUES (41), (42)", password: pg.password)
        #expect(ok.status == 0, "\(ok)")
        let pid = try #require(pg.postmasterPID)
        let children = PostgresCluster.children(of: pid)
        #expect(!children.isEmpty, "a running postmaster has its checkpointer, writer… as children")
        let port = pg.port

        try pg.kill()
        #expect(pg.postmasterPID == nil)
        #expect(!PostgresCluster.isAlive(pid))
        for child in children { #expect(!PostgresCluster.isAlive(child), "server process \(child) survived kill()") }
        let refused = try pg.psqlOverTCP("SELECT 1", password: pg.password)
        #expect(refused.status != 0 && refused.stderr.contains("refused"), "\(refused)")

        try pg.restart()
        #expect(pg.port == port, "the same URL after a restart")
        #expect(pg.postmasterPID != nil && pg.postmasterPID != pid)
        let back = try pg.psqlOverTCP("SELECT sum(v) FROM t", password: pg.password)
        #expect(back.status == 0 && back.stdout == "83", "\(back) \(pg.log)")

        // A restart of a running server: a fast shutdown, then up again on the same port.
        try pg.restart()
        #expect(try pg.psqlOverTCP("SELECT count(*) FROM t", password: pg.password).stdout == "2")
    }

    @Test func stopEndsEveryServerProcessAndRemovesTheFolder() throws {
        let pg = try PostgresCluster(settings: ["max_connections": "321"])
        try pg.start()
        #expect(try pg.psql("SHOW max_connections") == "321")
        let pid = try #require(pg.postmasterPID)
        let children = PostgresCluster.children(of: pid)
        pg.stop()
        #expect(!PostgresCluster.isAlive(pid))
        for child in children { #expect(!PostgresCluster.isAlive(child)) }
        #expect(!FileManager.default.fileExists(atPath: pg.folder.path))
        pg.stop() // twice is harmless
    }

    @Test func twoClustersRunSideBySideOnTheirOwnPorts() throws {
        let a = try PostgresCluster()
        let b = try PostgresCluster()
        defer {
            a.stop()
            b.stop()
        }
        try a.start()
        try b.start()
        #expect(a.port != b.port)
        #expect(a.password != b.password)
        #expect(try b.psqlOverTCP("SELECT 1", password: a.password).status != 0)
    }

    /// The Python twin (scenarios/multihost/pg_cluster.py, for the scenarios and the benchmark)
    /// passes the same checks (scenarios/multihost/test_pg_cluster.py).
    @Test func thePythonTwinPassesTheSameChecks() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-py-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try RunningProcess(
            executable: "/usr/bin/python3",
            arguments: [
                "-m", "pytest", "-q", "-p", "no:cacheprovider", MetricsProbe.packageRoot + "/scenarios/multihost/test_pg_cluster.py",
            ],
            environment: [:], logPrefix: out)
        let status = try p.waitForExit(timeout: 120)
        #expect(status == 0, "\(p.stdout)\(p.stderr)")
        #expect(p.stdout.contains("3 passed"), "\(p.stdout)")
    }

    @Test func aSecondStartOfARunningClusterIsAnError() throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        #expect(throws: PostgresClusterError.self) { try pg.start() }
    }
}
