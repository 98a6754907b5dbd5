import Foundation
import Testing

/// `status --watch`: redrawn in place in a terminal (a tmux pane, read back with capture-pane), plain
/// blocks after a `--- <UTC time>` line when stdout is a file.
@Suite struct StatusWatchTests {
    static let tmux = ["/usr/bin/tmux", "/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs tmux on a server of the test's own (`-L NAME`), to its end; through python3 to start it
    /// with no signal blocked (the test runner's threads block some, and a child inherits the mask)
    /// and no inherited descriptor (the tmux server outlives the command, and Foundation's Process
    /// sees its child running while any copy of its descriptors stays open).
    static func tmux(_ server: String, _ arguments: [String], home: TestHome) throws -> CommandResult {
        let unblocked =
            "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])"
        let p = try RunningProcess(
            executable: "/usr/bin/python3", arguments: ["-c", unblocked, try #require(tmux), "-L", server, "-f", "/dev/null"] + arguments,
            environment: ["TERM": "xterm-256color"], logPrefix: home.path + "/tmux-\(UUID().uuidString.prefix(8))")
        let status = try p.waitForExit(timeout: 10)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    @Test("supervisor status --watch redraws in place in a tmux pane", .enabled(if: tmux != nil, "needs tmux (scripts/setup installs it)"))
    func redrawsInPlace() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        _ = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])

        let server = "rt-watch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let command = [
            Binaries.path("supervisor"), "status", "--watch", "--interval", "0.2", "--config", home.configPath, "--home", home.path,
        ]
        .joined(separator: " ")
        let started = try Self.tmux(server, ["new-session", "-d", "-s", "w", "-x", "200", "-y", "40", command], home: home)
        #expect(started.status == 0, "\(started)")
        defer { _ = try? Self.tmux(server, ["kill-server"], home: home) }
        var pane = ""
        func capture() throws -> String {
            pane = try Self.tmux(server, ["capture-pane", "-p", "-t", "w"], home: home).stdout
            return pane
        }
        func rows(_ market: String) -> [Substring] { pane.split(separator: "\n").filter { $0.hasPrefix(market + " ") } }
        try waitFor("the pane to show ES RUNNING", timeout: 10, seen: { pane }) { () -> Bool? in
            _ = try capture()
            return rows("ES").first?.contains("RUNNING") == true ? true : nil
        }
        // Several rounds later the same screen: one header, one row per market, nothing scrolled.
        let stop = try home.supervisor(["stop", "ES"])
        #expect(stop.status == 0, "\(stop)")
        try waitFor("the pane to show ES STOPPED by the operator", timeout: 10, seen: { pane }) { () -> Bool? in
            _ = try capture()
            return rows("ES").first?.contains("STOPPED") == true && pane.contains("ES: stopped by operator, since ") ? true : nil
        }
        let lines = pane.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("MARKET ") }.count == 1, "redrawn in place, not appended:\n\(pane)")
        #expect(lines.filter { $0.hasPrefix("supervisor pid ") }.count == 1, "\(pane)")
        #expect(rows("ES").count == 1 && rows("NQ").count == 1 && rows("CL").count == 1, "\(pane)")
        #expect(!pane.contains("RUNNING  ") || rows("ES").allSatisfy { !$0.contains("RUNNING") }, "no stale ES row left:\n\(pane)")
    }

    @Test("status --watch into a file: plain blocks after --- lines, no terminal codes, on both status commands")
    func plainLinesOtherwise() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        try home.startWatchdog()
        _ = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING"])
        for program in ["supervisor", "watchdog"] {
            let p = try home.start(program, ["status", "es", "--watch", "--interval", "0.2"], name: program + "-watch")
            try waitFor("\(program) to print three rounds", timeout: 10, seen: { p.stdout + p.stderr }) {
                p.stdout.components(separatedBy: "\n--- ").count >= 3 && p.stdout.hasPrefix("--- ") ? true : nil
            }
            p.signal(SIGTERM)
            _ = try p.waitForExit()
            #expect(!p.stdout.contains("\u{1B}"), "\(program): no escape codes in a file")
            let rows = p.stdout.split(separator: "\n").filter { $0.hasPrefix("ES ") }
            #expect(rows.count >= 3 && p.stdout.split(separator: "\n").filter { $0.hasPrefix("NQ ") }.isEmpty, "\(program): \(p.stdout)")
        }
    }
}
