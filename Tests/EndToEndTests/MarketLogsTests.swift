import Foundation
import Testing

/// `supervisor logs MARKET [-n N] [-f] [--json]`: a market's journal, one readable line per event.
@Suite struct MarketLogsTests {
    @Test("logs shows a market's journal readably, -n cuts it, -f follows a restart, an unknown market is 78")
    func logs() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        _ = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING"])

        let all = try home.supervisor(["logs", "mes"])
        #expect(all.status == 0, "\(all)")
        let acquired = all.stdout.split(separator: "\n").filter { $0.contains(" CANONICAL_MARKET_LOCK_ACQUIRED ") }
        #expect(acquired.count == 1, "\(all.stdout)")
        // `<ts> ES pid P fence F #1 CANONICAL_MARKET_LOCK_ACQUIRED lock_file=... fence=1 ...`
        #expect(acquired.first.map { $0.contains(" ES pid ") && $0.contains(" #1 ") && $0.contains(" fence=1") } == true, "\(acquired)")
        let last = try home.supervisor(["logs", "ES", "-n", "2"])
        #expect(last.stdout.split(separator: "\n").count == 2, "\(last.stdout)")
        let json = try home.supervisor(["logs", "ES", "-n", "1", "--json"])
        #expect(json.stdout.hasPrefix("{\"v\":1,"), "\(json.stdout)")
        let unknown = try home.supervisor(["logs", "ZB"])
        #expect(unknown.status == 78 && unknown.stderr.contains("unknown market ZB; configured: CL, ES, NQ"), "\(unknown)")

        let follow = try home.start("supervisor", ["logs", "ES", "-f", "-n", "0"], name: "logs-follow")
        defer { follow.signal(SIGKILL) }
        #expect(try home.supervisor(["restart", "ES"]).status == 0)
        try waitFor("logs -f to show the new worker's lock", timeout: 10, seen: { follow.stdout }) {
            follow.stdout.contains(" CANONICAL_MARKET_LOCK_ACQUIRED ") ? true : nil
        }
        // -n 0: only what came after, so not the first worker's first event.
        #expect(!follow.stdout.contains(" fence 1 #1 "), "\(follow.stdout)")
        #expect(
            follow.stdout.split(separator: "\n").contains { $0.contains(" fence 2 #1 CANONICAL_MARKET_LOCK_ACQUIRED ") }, "\(follow.stdout)"
        )
        follow.signal(SIGTERM)
        #expect(try follow.waitForExit() == 128 + SIGTERM)
    }
}
