import Foundation
import Testing
import Wire

/// A private folder for one test: its own configuration, lock, state and socket folders, so tests
/// run in parallel and never touch the repository's own `runtime_locks/`. Short (`/tmp/rt.XXXXXX`)
/// because socket paths must fit in 108 bytes.
final class TestHome: @unchecked Sendable {
    let path: String
    private var processes: [RunningProcess] = []

    init() throws {
        var template = Array("/tmp/rt.XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        path = String(cString: p)
    }

    deinit { cleanup() }

    /// Kills every process this home started (SIGKILL by pid) and removes the folder.
    func cleanup() {
        for p in processes where p.isRunning { p.signal(SIGKILL) }
        for p in processes { _ = try? p.waitForExit(timeout: 5) }
        processes.removeAll()
        try? FileManager.default.removeItem(atPath: path)
    }

    var configPath: String { path + "/robot.json" }
    var lockDir: String { path + "/runtime_locks" }
    var stateDir: String { path + "/state" }
    var socketDir: String { path + "/run" }
    func lockFile(_ market: String) -> String { lockDir + "/canonical_\(market).lock" }
    func fenceFile(_ market: String) -> String { lockDir + "/canonical_\(market).fence" }
    func journal(_ market: String) -> String { stateDir + "/\(market)/events.ndjson" }
    var watchdogSocket: String { socketDir + "/watchdog.sock" }

    /// Writes the configuration file.
    func writeConfig(_ config: TestConfig) throws {
        try config.json.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts one of the package's executables with `--config` and `--home` pointing here.
    @discardableResult
    func start(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], name: String? = nil, journalStream: Bool = false
    ) throws -> RunningProcess {
        let p = try RunningProcess(
            executable: Binaries.path(executable), arguments: arguments + ["--config", configPath, "--home", path],
            environment: environment, logPrefix: path + "/" + (name ?? executable) + "-\(processes.count)", journalStream: journalStream)
        processes.append(p)
        return p
    }

    /// Every event journaled for `market`, in file order.
    func events(_ market: String) -> [Event] { JournalFiles.events([journal(market)]) }

    /// The events of one type, in order.
    func events(_ market: String, type: EventType) -> [Event] {
        events(market).filter { $0.type == type.rawValue }
    }
}

/// The configuration a test runs on; fast timings by default.
struct TestConfig {
    var markets: [String: (execution: String, streams: [(String, String)])] = [
        "ES": ("MES", [("ES1", "ES"), ("ES2", "ES")]),
        "NQ": ("MNQ", [("NQ1", "NQ")]),
        "CL": ("MCL", [("CL1", "CL")]),
    ]
    var heartbeatInterval = 0.2
    var invariantsInterval = 60.0
    var lateIntervals = 2.0
    var lostSeconds = 1.0
    /// Extra top-level sections, as JSON text, keyed by section name.
    var extraSections: [String: String] = [:]
    /// A market's `feed` object, as JSON text, keyed by market (default: synthetic).
    var feeds: [String: String] = [:]
    /// A market's `strategy` object, as JSON text, keyed by market (default: none).
    var strategies: [String: String] = [:]
    /// `safety.unobserved_seconds`, put in the `safety` section unless it names the key or
    /// `trade_without_watchdog` itself: long, because most tests run workers with no watchdog and
    /// the default (`heartbeat_lost_seconds`, 1 s here) would hold them in OBSERVE_ONLY.
    var unobservedSeconds = 60.0

    var json: String {
        var marketsJSON: [String] = []
        for (name, m) in markets.sorted(by: { $0.key < $1.key }) {
            let streams = m.streams.map { "\"\($0.0)\": {\"instrument\": \"\($0.1)\"}" }.joined(separator: ", ")
            let feed = feeds[name].map { ", \"feed\": \($0)" } ?? ""
            let strategy = strategies[name].map { ", \"strategy\": \($0)" } ?? ""
            marketsJSON.append("\"\(name)\": {\"execution\": \"\(m.execution)\", \"streams\": {\(streams)}\(feed)\(strategy)}")
        }
        var sections = [
            "\"instrument_map\": {\"MES\": \"ES\", \"MNQ\": \"NQ\", \"MYM\": \"YM\", \"M2K\": \"RTY\", \"MCL\": \"CL\", \"MGC\": \"GC\"}",
            "\"markets\": {\(marketsJSON.joined(separator: ", "))}",
            """
            "timings": {"heartbeat_interval_seconds": \(heartbeatInterval), "invariants_interval_seconds": \(invariantsInterval), \
            "heartbeat_late_intervals": \(lateIntervals), "heartbeat_lost_seconds": \(lostSeconds)}
            """,
        ]
        var extra = extraSections
        let safety = extra["safety"] ?? "{}"
        if !safety.contains("unobserved_seconds"), !safety.contains("trade_without_watchdog") {
            let rest = safety.drop { $0 != "{" }.dropFirst().drop { $0 == " " || $0 == "\n" }
            extra["safety"] = "{\"unobserved_seconds\": \(unobservedSeconds)" + (rest.hasPrefix("}") ? "" : ", ") + rest
        }
        for (name, body) in extra.sorted(by: { $0.key < $1.key }) { sections.append("\"\(name)\": \(body)") }
        return "{\n" + sections.joined(separator: ",\n") + "\n}\n"
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `probe` every 10 ms until it returns a value or `timeout` passes; on timeout, fails with
/// `what` and the last thing `seen` describes.
@discardableResult
func waitFor<T>(
    _ what: String, timeout: Double = 10, seen: () -> String = { "" }, _ probe: () throws -> T?
) throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try probe() { return value }
        if Date() > deadline { throw TestFailure("timed out after \(timeout) s waiting for \(what); seen: \(seen())") }
        usleep(10_000)
    }
}

/// Where `swift build` put the package's executables: next to the test bundle.
enum Binaries {
    static let directory: String = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("robot-worker").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }
}
