import Foundation
import Testing
import Wire

/// The operator's habits across the three programs (issue 18): --version, status [MARKET...] with
/// canonical names and unknown ones refused, start|stop|restart of several markets or all, --json,
/// an operator's stop remembered across supervisor restarts.
@Suite(.serialized) struct OperatorCommandsTests {
    /// Runs one of the binaries with exactly `arguments` (no --config added), in `directory`.
    static func run(
        _ executable: String, _ arguments: [String], in home: TestHome, environment: [String: String] = [:], directory: String? = nil
    ) throws -> CommandResult {
        let p = try RunningProcess(
            executable: Binaries.path(executable), arguments: arguments, environment: environment,
            logPrefix: home.path + "/\(executable)-\(UUID().uuidString.prefix(8))", workingDirectory: directory)
        let status = try p.waitForExit(timeout: 15)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    @Test("--version on the three programs: the version and commit baked in at build time, exit 0")
    func version() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let expected = try String(contentsOfFile: MetricsProbe.packageRoot + "/VERSION", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        for program in ["robot-worker", "watchdog", "supervisor"] {
            let r = try Self.run(program, ["--version"], in: home)
            #expect(r.status == 0, "\(program) --version: \(r.stderr)")
            let line = r.stdout.trimmingCharacters(in: .newlines)
            #expect(line.hasPrefix("\(program) \(expected) (commit "), "\(program): \(line)")
            // A commit is 12 hex digits (with -dirty for a changed work tree), or unknown without git.
            let commit = line.split(separator: "(commit ").last.map { String($0.dropLast()) } ?? ""
            let hex = commit.replacingOccurrences(of: "-dirty", with: "")
            #expect(commit == "unknown" || (hex.count == 12 && hex.allSatisfy(\.isHexDigit)), "\(program): commit \(commit)")
        }
    }

    @Test("the build-info script says unknown for the commit without git, and outside a clone")
    func buildInfoWithoutGit() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let fm = FileManager.default
        try fm.createDirectory(atPath: home.path + "/pkg", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: home.path + "/bin", withIntermediateDirectories: true)
        try "9.9.9\n".write(toFile: home.path + "/pkg/VERSION", atomically: true, encoding: .utf8)
        // A PATH with the tools the script needs and no git.
        for tool in ["tr", "mkdir", "dirname", "cat"] {
            let found = ["/usr/bin/", "/bin/"].map { $0 + tool }.first { fm.isExecutableFile(atPath: $0) }
            try fm.createSymbolicLink(atPath: home.path + "/bin/" + tool, withDestinationPath: try #require(found, "no \(tool)"))
        }
        for (path, name) in [(home.path + "/bin", "no git"), ("/usr/bin:/bin", "outside a clone")] {
            let out = home.path + "/out-\(name.count)/BuildInfo.swift"
            let p = try RunningProcess(
                executable: "/bin/sh", arguments: [MetricsProbe.packageRoot + "/scripts/build-info", home.path + "/pkg", out],
                environment: ["PATH": path], logPrefix: home.path + "/build-info-\(name.count)")
            #expect(try p.waitForExit() == 0, "\(name): \(p.stderr)")
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            #expect(text.contains(#"version = "9.9.9""#) && text.contains(#"commit = "unknown""#), "\(name): \(text)")
        }
    }

    @Test("status [MARKET...] on both status commands: canonical names accepted, unknown ones refused with exit 4 and the list")
    func statusSelection() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        try home.startWatchdog()
        _ = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])

        let one = try home.supervisor(["status", "es"])
        #expect(one.status == 0, "\(one.stderr)")
        let rows = one.stdout.split(separator: "\n").filter { $0.hasPrefix("ES ") || $0.hasPrefix("NQ ") || $0.hasPrefix("CL ") }
        #expect(rows.count == 1 && rows[0].hasPrefix("ES "), "\(one.stdout)")
        #expect(one.stdout.contains("configuration: \(home.configPath)"), "the header names the file: \(one.stdout)")
        let two = try home.supervisor(["status", "MNQ", "mes", "--json"])
        let markets = try JSONParser.parse(two.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue?["markets"]?.objectValue
        #expect(markets?.keys.sorted() == ["ES", "NQ"], "\(two.stdout)")
        let unknown = try home.supervisor(["status", "ES", "ZB"])
        #expect(unknown.status == 4 && unknown.stdout.isEmpty, "\(unknown)")
        #expect(unknown.stderr == "supervisor: unknown market ZB; configured: CL, ES, NQ\n")

        // The watchdog: the same names, the same refusal; no made-up "no events yet" row.
        try waitFor("the watchdog to know ES", timeout: 10, seen: { "\(home.quickStatus()?.markets.keys.sorted() ?? [])" }) {
            home.quickStatus()?.markets["ES"] != nil ? true : nil
        }
        let watched = try home.watchdogCommand(["status", "MES"])
        #expect(watched.stdout.contains("configuration: \(home.configPath)"), "\(watched.stdout)")
        let watchedRows = watched.stdout.split(separator: "\n").filter { $0.hasPrefix("ES ") || $0.hasPrefix("NQ ") || $0.hasPrefix("CL ") }
        #expect(watchedRows.count == 1 && watchedRows[0].hasPrefix("ES "), "\(watched.stdout)")
        let bad = try home.watchdogCommand(["status", "es", "zb"])
        #expect(bad.status == 4 && bad.stdout.isEmpty, "\(bad)")
        #expect(bad.stderr == "watchdog: unknown market zb; configured: CL, ES, NQ\n")
        let json = try home.watchdogCommand(["status", "es", "--json"])
        let decoded = try StatusJSON.decode(Array(json.stdout.utf8))
        #expect(decoded.markets.keys.sorted() == ["ES"], "\(json.stdout)")
    }

    @Test("stop several markets or all; a stopped market stays stopped across a supervisor restart until started")
    func stopIsRemembered() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestConfig().supervised())
        let first = try home.startSupervisor()
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])

        let stop = try home.supervisor(["stop", "es", "MNQ", "--json"])
        #expect(stop.status == 0, "\(stop)")
        let answers = stop.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)).objectValue }
        #expect(answers.count == 2 && answers.allSatisfy { $0["ok"]?.boolValue == true }, "\(stop.stdout)")
        // Durable before the answer: the files are there when the command has returned.
        let downFolder = home.stateDir + "/supervisor/stopped"
        #expect(FileManager.default.fileExists(atPath: downFolder + "/ES") && FileManager.default.fileExists(atPath: downFolder + "/NQ"))
        let text = try home.supervisor(["status"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("ES: stopped by operator, since "), "\(text.stdout)")

        first.signal(SIGTERM)
        #expect(try first.waitForExit(timeout: 15) == 0)
        _ = try home.startSupervisor()
        let after = try home.waitForStates(["CL": "RUNNING", "ES": "STOPPED", "NQ": "STOPPED"])
        let since = after.market("ES")?["stopped_by_operator_since_utc"]?.stringValue
        #expect(since != nil && UTCTimestamp.parse(since!) != nil, "\(String(describing: after.market("ES")))")
        #expect(after.market("CL")?["stopped_by_operator_since_utc"] == .null)
        // It stays stopped: nothing starts it behind the operator's back.
        #expect(after.market("ES")?["restarts"]?.intValue == 0)

        let unknown = try home.supervisor(["start", "ES", "ZB"])
        #expect(unknown.status == 2, "an unknown market among several is refused: \(unknown)")
        #expect(unknown.stderr.contains("unknown market ZB; configured: CL, ES, NQ"), "\(unknown.stderr)")
        let start = try home.supervisor(["start", "all"])
        #expect(start.status == 0, "\(start)")
        try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        #expect(!FileManager.default.fileExists(atPath: downFolder + "/ES") && !FileManager.default.fileExists(atPath: downFolder + "/NQ"))
        let mixed = try home.supervisor(["stop", "all", "ES"])
        #expect(mixed.status == 64, "\(mixed)")
    }
}

extension CommandResult: CustomStringConvertible {
    var description: String { "status \(status), stdout: \(stdout), stderr: \(stderr)" }
}

/// The installed layout: `scripts/install` into a temporary prefix (a user install, every folder
/// given), then the installed binaries with no flag at all, from another folder, find the installed
/// configuration and each other.
@Suite struct InstalledLayoutTests {
    @Test("after scripts/install, supervisor run and status work with no flags from another folder", .timeLimit(.minutes(3)))
    func installedCommandsNeedNoFlags() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let root = home.path
        let fm = FileManager.default
        for folder in ["elsewhere", "other", "none"] {
            try fm.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        let install = try RunningProcess(
            executable: MetricsProbe.packageRoot + "/scripts/install",
            arguments: [
                "--systemd-user", "--prefix", root + "/prefix", "--bin-from", Binaries.directory, "--unit-dir", root + "/units",
                "--config-dir", root + "/xdg/robot", "--state-dir", root + "/st", "--runtime-dir", root + "/run",
            ],
            environment: ["XDG_RUNTIME_DIR": root, "XDG_CONFIG_HOME": root + "/xdg"], logPrefix: root + "/install")
        #expect(try install.waitForExit(timeout: 120) == 0, "install: \(install.stdout) \(install.stderr)")
        let config = root + "/xdg/robot/robot.json"
        #expect(fm.fileExists(atPath: config) && fm.isExecutableFile(atPath: root + "/prefix/bin/supervisor"), "\(install.stdout)")

        // As an operator's shell would be: no ROBOT_CONFIG, no ROBOT_HOME, another folder; the
        // system install's folder is one of the test's own, never the host's /etc.
        let environment = ["XDG_CONFIG_HOME": root + "/xdg", "ROBOT_SYSCONFDIR": root + "/none"]
        func command(_ program: String, _ arguments: [String], in folder: String) throws -> RunningProcess {
            try RunningProcess(
                executable: root + "/prefix/bin/" + program, arguments: arguments, environment: environment,
                logPrefix: root + "/\(program)-\(UUID().uuidString.prefix(8))", workingDirectory: root + "/" + folder)
        }
        let supervisor = try command("supervisor", ["run"], in: "elsewhere")
        defer {
            supervisor.signal(SIGTERM)
            _ = try? supervisor.waitForExit(timeout: 20)
        }
        var last = CommandResult(status: -1, stdout: "", stderr: "")
        try waitFor("supervisor status (installed, no flags, another folder) to exit 0", timeout: 30, seen: { "\(last)" }) { () -> Bool? in
            let p = try command("supervisor", ["status"], in: "other")
            let status = try p.waitForExit(timeout: 15)
            last = CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
            return status == 0 ? true : nil
        }
        #expect(last.stdout.contains("configuration: \(config)"), "\(last.stdout)")
        #expect(supervisor.stderr.contains("from \(config)"), "the start-up line names the file: \(supervisor.stderr)")
        // Locks and state under the installed state folder, nothing in the folders the commands ran in.
        #expect(fm.fileExists(atPath: root + "/st/runtime_locks/canonical_ES.lock"))
        #expect(try fm.contentsOfDirectory(atPath: root + "/elsewhere").filter { !$0.hasPrefix("supervisor-") }.isEmpty)
        #expect(try fm.contentsOfDirectory(atPath: root + "/other").filter { !$0.hasPrefix("supervisor-") }.isEmpty)
        // Manual pages and completions, market names completed from the installed configuration.
        let man = (try? String(contentsOfFile: root + "/prefix/share/man/man1/supervisor.1", encoding: .utf8)) ?? ""
        #expect(man.hasPrefix(#".TH "SUPERVISOR" "1""#) && man.contains("stopped by operator"), "\(man.prefix(200))")
        #expect(
            fm.fileExists(atPath: root + "/prefix/share/man/man8/watchdog.8")
                && fm.fileExists(atPath: root + "/prefix/share/man/man1/robot-worker.1"))
        for program in ["robot-worker", "watchdog", "supervisor"] {
            #expect(fm.fileExists(atPath: root + "/prefix/share/zsh/site-functions/_" + program), "zsh \(program)")
            #expect(fm.fileExists(atPath: root + "/prefix/share/fish/vendor_completions.d/\(program).fish"), "fish \(program)")
        }
        let bin = root + "/prefix/bin/supervisor"
        let script = """
            source \(root)/prefix/share/bash-completion/completions/supervisor
            COMP_WORDS=(\(bin) stop ""); COMP_CWORD=2; COMP_LINE="\(bin) stop "; COMP_POINT=${#COMP_LINE}
            _supervisor
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let bash = try RunningProcess(
            executable: "/bin/bash", arguments: ["-c", script], environment: environment, logPrefix: root + "/complete",
            workingDirectory: root + "/other")
        #expect(try bash.waitForExit() == 0, "\(bash.stderr)")
        #expect(bash.stdout == "CL\nES\nNQ\nall\n", "bash completes the installed configuration's markets: \(bash.stdout) \(bash.stderr)")

        let watchdog = try command("watchdog", ["status"], in: "other")
        #expect(try watchdog.waitForExit() == 3, "no watchdog runs here")
        #expect(
            watchdog.stderr.contains(root + "/run/watchdog.sock") && watchdog.stderr.contains("configuration: \(config)"),
            "\(watchdog.stderr)")
    }
}
