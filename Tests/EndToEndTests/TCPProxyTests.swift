import Foundation
import TestSupport
import Testing

/// The partition proxy (scenarios/multihost/tcp_proxy.py) the partition test and the multi-host
/// chaos run put between a host and the database: `forward` carries bytes both ways, `stall` holds
/// them without closing anything, `close` closes every connection and refuses new ones.
@Suite struct TCPProxyTests {
    /// Its own tests (pytest, against an echo server and a real cluster).
    @Test func itsOwnTestsPass() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tcp-proxy-py-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try RunningProcess(
            executable: "/usr/bin/python3",
            arguments: [
                "-m", "pytest", "-q", "-p", "no:cacheprovider", MetricsProbe.packageRoot + "/scenarios/multihost/test_tcp_proxy.py",
            ],
            environment: [:], logPrefix: out)
        let status = try p.waitForExit(timeout: 120)
        #expect(status == 0, "\(p.stdout)\(p.stderr)")
        #expect(p.stdout.contains("7 passed"), "\(p.stdout)")
    }

    /// Driven from Swift (TestSupport's TCPProxy) in front of a real cluster: a login through it
    /// works, times out while stalled, is refused while closed, and works again after.
    @Test(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"))
    func aClusterBehindTheProxyIsReachableStalledAndRefusedInTurn() throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        let proxy = try TCPProxy(upstreamPort: pg.port)
        defer { proxy.stop() }
        #expect(proxy.port != pg.port)
        let ok = try pg.psqlOverTCP("SELECT 6 * 7", password: pg.password, port: proxy.port)
        #expect(ok.status == 0 && ok.stdout == "42", "\(ok)")

        try proxy.set(.stall)
        let stalled = try pg.psqlOverTCP("SELECT 1", password: pg.password, port: proxy.port, connectTimeout: 1)
        #expect(stalled.status != 0 && stalled.stderr.contains("timeout"), "\(stalled)")

        try proxy.set(.close)
        let refused = try pg.psqlOverTCP("SELECT 1", password: pg.password, port: proxy.port)
        #expect(refused.status != 0 && refused.stderr.contains("refused"), "\(refused)")

        try proxy.set(.forward)
        #expect(try pg.psqlOverTCP("SELECT 1", password: pg.password, port: proxy.port).status == 0)
    }
}
