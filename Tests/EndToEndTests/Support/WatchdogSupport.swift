import Foundation
import Platform
import Testing
import Wire

/// What end-to-end tests read of `watchdog status --json`: decoded here from the documented
/// field names (docs/PROTOCOL.md), independently of the watchdog's own types.
struct StatusJSON: Decodable {
    struct Lock: Decodable {
        var runId: String
        var pid: Int32
        var fence: Int64
    }

    struct Alert: Decodable {
        var alertId: String
        var condition: String
        var severity: String
        var metadata: [String: String]
        var acknowledged: Bool
        var resolvedAtUtc: String?
    }

    struct Counters: Decodable {
        var events: Int64
        var duplicates: Int64
        var gaps: Int64
        var heartbeats: Int64?
        var rejected: [String: Int64]
        var staleFence: Int64
        var refusals: Int64
    }

    struct Run: Decodable {
        var runId: String
        var appliedSeq: Int64
    }

    struct Latch: Decodable {
        var trigger: String
        var reason: String
    }

    struct Health: Decodable {
        var healthy: Bool
        var reasons: [String]
    }

    struct Order: Decodable {
        var clientOrderId: String
        var stream: String
    }

    struct Market: Decodable {
        var canonicalInstrument: String
        var mode: String?
        var latch: Latch?
        var health: Health?
        var openOrders: [Order]
        var executionInstrument: String?
        var lastIdentityInvariantsPass: Bool?
        var lastIdentityInvariantsEventChicago: String?
        var lastIdentityViolations: [String]
        var heartbeatState: String
        var lastHeartbeatUtc: String?
        var heartbeatAgeSeconds: Double
        var lock: Lock?
        var fenceHighWater: Int64
        var ordersRefused: [String]?
        var alerts: [Alert]
        var counters: Counters
        var runs: [Run]

        func applied(_ runID: String) -> Int64 { runs.first { $0.runId == runID }?.appliedSeq ?? 0 }
    }

    var markets: [String: Market]
    var rejected: [String: Int64]
    var connections: Int
    var alertHistory: [Alert]

    static func decode(_ bytes: [UInt8]) throws -> StatusJSON {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusJSON.self, from: Data(bytes))
    }
}

extension TestHome {
    /// Starts `watchdog run` and waits until it serves its socket.
    @discardableResult
    func startWatchdog(timeout: Double = 10) throws -> RunningProcess {
        let p = try start("watchdog", ["run"], name: "watchdog")
        try waitFor("the watchdog to serve \(watchdogSocket)", timeout: timeout, seen: { p.stderr }) {
            UnixSocket.isServing(watchdogSocket) ? true : nil
        }
        return p
    }

    /// Runs `watchdog ARGS --config … --home …` to its end (optionally through `prefix`, such as
    /// setpriv), and returns what it printed.
    func watchdogCommand(_ arguments: [String], prefix: [String] = []) throws -> CommandResult {
        let p: RunningProcess
        if prefix.isEmpty {
            p = try start("watchdog", arguments, name: "watchdog-cli")
        } else {
            p = try RunningProcess(
                executable: prefix[0],
                arguments: Array(prefix.dropFirst()) + [Binaries.path("watchdog")] + arguments
                    + ["--config", configPath, "--home", path],
                environment: [:], logPrefix: path + "/cli-\(UUID().uuidString.prefix(8))")
        }
        let status = try p.waitForExit(timeout: 10)
        return CommandResult(status: status, stdout: p.stdout, stderr: p.stderr)
    }

    /// `watchdog status --json`, run as a command, decoded.
    func statusJSON() throws -> StatusJSON {
        let r = try watchdogCommand(["status", "--json"])
        guard r.status == 0 || r.status == 1 else { throw TestFailure("watchdog status exited \(r.status): \(r.stderr)") }
        return try StatusJSON.decode(Array(r.stdout.utf8))
    }

    /// The status asked over the socket in-process (cheaper than a command, for polling); nil
    /// when the watchdog does not answer.
    func quickStatus() -> StatusJSON? {
        guard let client = try? LineClient(path: watchdogSocket) else { return nil }
        do {
            try client.send(Array(#"{"v":1,"type":"hello","role":"operator"}"#.utf8))
            try client.send(Array(#"{"v":1,"type":"status"}"#.utf8))
            return try StatusJSON.decode(client.readLine(timeoutSeconds: 5))
        } catch {
            return nil
        }
    }

    /// The run id of the worker `pid` of `market`, from its journaled ACQUIRED event.
    func runID(_ market: String, pid: Int32) throws -> String {
        try waitFor("\(market) worker \(pid) to journal its lock", seen: { "\(self.events(market).map(\.type))" }) {
            events(market, type: .lockAcquired).last { $0.pid == pid }?.runID
        }
    }

    /// The last seq journaled by `runID`.
    func lastSeq(_ market: String, runID: String) -> Int64 {
        events(market).filter { $0.runID == runID }.compactMap(\.seq).max() ?? 0
    }

    /// The largest interval between consecutive journaled heartbeats of `runID`, in seconds.
    func largestHeartbeatGap(_ market: String, runID: String) -> Double {
        let times = events(market, type: .heartbeat).filter { $0.runID == runID }.compactMap { UTCTimestamp.parse($0.ts) }
        return zip(times, times.dropFirst()).map { Double($1 - $0) / 1e6 }.max() ?? 0
    }
}

/// A raw client for hostile-input tests: a blocking Unix socket the test writes bytes to.
final class RawClient {
    let fd: Int32

    init(path: String) throws {
        fd = try UnixSocket.connect(path: path, nonBlocking: false)
    }

    deinit { close(fd) }

    /// Writes `bytes`, ignoring a peer that already closed.
    func write(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    func write(_ text: String) { write(Array(text.utf8)) }
}
