import Foundation
import Testing
import Wire

/// The `supervisor` section with short timings for process tests.
struct SupervisorTimings {
    var watchdog = 1.0
    var watchdogKillGrace = 0.5
    var startTimeout = 5.0
    var stopTimeout = 2.0
    var minUptime = 0.5
    var backoffInitial = 0.1
    var backoffMax = 2.0
    var backoffMultiplier = 2.0
    var maxRestarts = 5
    var restartWindow = 60.0
    var workerCommand: [String]?

    var json: String {
        var parts = [
            "\"watchdog_seconds\": \(watchdog)", "\"watchdog_kill_grace_seconds\": \(watchdogKillGrace)",
            "\"start_timeout_seconds\": \(startTimeout)", "\"stop_timeout_seconds\": \(stopTimeout)",
            "\"min_uptime_seconds\": \(minUptime)", "\"backoff_initial_seconds\": \(backoffInitial)",
            "\"backoff_max_seconds\": \(backoffMax)", "\"backoff_multiplier\": \(backoffMultiplier)",
            "\"max_restarts\": \(maxRestarts)", "\"restart_window_seconds\": \(restartWindow)",
        ]
        if let workerCommand {
            parts.append("\"worker_command\": [" + workerCommand.map { JSONValue.string($0).jsonText }.joined(separator: ", ") + "]")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}

extension TestConfig {
    /// This configuration with a `supervisor` section.
    func supervised(_ timings: SupervisorTimings = SupervisorTimings()) -> TestConfig {
        var c = self
        c.extraSections["supervisor"] = timings.json
        return c
    }
}

extension TestHome {
    var supervisorSocket: String { socketDir + "/supervisor.sock" }

    /// Starts `supervisor run` here.
    func startSupervisor(environment: [String: String] = [:]) throws -> RunningProcess {
        try start("supervisor", ["run"], environment: environment, name: "supervisor-run")
    }

    /// Runs a client command (`status --json`, `stop ES`…) to its end.
    func supervisor(_ arguments: [String], timeout: Double = 15) throws -> CommandResult {
        let p = try start("supervisor", arguments, name: "supervisor-\(arguments.first ?? "")")
        let status = try p.waitForExit(timeout: timeout)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    /// `supervisor status --json`, parsed; nil while the supervisor does not answer.
    func supervisorStatus() throws -> JSONObject? {
        let r = try supervisor(["status", "--json"])
        guard r.status == 0 || r.status == 1 else { return nil }
        return try? JSONParser.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).objectValue
    }

    /// Waits until every market in `states` is in its state; returns the status seen then.
    @discardableResult
    func waitForStates(_ states: [String: String], timeout: Double = 10) throws -> JSONObject {
        var last = "no answer"
        return try waitFor("supervisor states \(states)", timeout: timeout, seen: { last }) { () -> JSONObject? in
            guard let s = try supervisorStatus(), let markets = s["markets"]?.objectValue else { return nil }
            last = markets.keys.sorted().map { "\($0)=\(markets[$0]?.objectValue?["state"]?.stringValue ?? "?")" }.joined(separator: " ")
            for (market, state) in states where markets[market]?.objectValue?["state"]?.stringValue != state { return nil }
            return s
        }
    }

    /// The journaled ACQUIRED event of worker `pid` of `market`, once it is there.
    func acquired(_ market: String, pid: Int32, timeout: Double = 10) throws -> Event {
        try waitFor(
            "\(market) worker \(pid) to journal CANONICAL_MARKET_LOCK_ACQUIRED", timeout: timeout,
            seen: { "\(events(market).map { "\($0.type)/\($0.pid)" })" }
        ) {
            events(market, type: .lockAcquired).last { $0.pid == pid }
        }
    }
}

extension JSONObject {
    /// `markets.M` of a status answer.
    func market(_ name: String) -> JSONObject? { self["markets"]?.objectValue?[name]?.objectValue }
    func pid(_ market: String) -> Int32? { self.market(market)?["pid"]?.intValue.map { Int32($0) } }
}

/// True while `pid` exists and is not a zombie.
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
        return false
    }
    let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
    return state != "Z" && state != "X"
}

/// True when nobody holds the flock of `path` (the test takes and drops it).
func lockIsFree(_ path: String) -> Bool {
    let fd = open(path, O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
    flock(fd, LOCK_UN)
    return true
}

/// Seconds between two wire timestamps.
func seconds(from a: String, to b: String) -> Double? {
    guard let x = UTCTimestamp.parse(a), let y = UTCTimestamp.parse(b) else { return nil }
    return Double(y - x) / 1e6
}
