import ProcessShell
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The operator commands (`supervisor status|start|stop|restart|reload`): one request on the
/// control socket, one answer, printed; the exit status says how it went (`SupervisorExitStatus`).
///
/// The socket is found through the same configuration as `supervisor run` (`--config`, `--home`).
/// When nothing serves it: one line naming the path tried, exit 3; when its mode keeps this user
/// out, or the request needs root or the supervisor's user: exit 77. Errors go to stderr.
public enum SupervisorClient {
    /// One plain line on stderr, prefixed `supervisor: ` (`ClientError`): the client commands' messages.
    public static func printError(_ message: String) { ClientError.print("supervisor", message) }

    /// `supervisor status [MARKET...]`: the rows of the markets named (all by default), each name
    /// canonicalised as the supervisor does; an unknown one is refused with the supervisor's list
    /// (exit 4). The full status also shows the paper venue when the supervisor runs it (`venue`).
    /// Exit 0 when every row shown is RUNNING, 1 otherwise (LSB-style: 3 when the
    /// supervisor itself is not running).
    public static func status(markets names: [String], json: Bool, options: SupervisorOptions) -> SupervisorExitStatus {
        let answer = statusAnswer(markets: names, json: json, options: options)
        if let text = answer.text { print(text) }
        if let error = answer.error { ClientError.print("supervisor", error) }
        return answer.status
    }

    /// What `status` prints (stdout text, stderr line) and its exit status; `status --watch` shows
    /// one of these every round.
    public static func statusAnswer(markets names: [String], json: Bool, options: SupervisorOptions) -> (
        text: String?, error: String?, status: SupervisorExitStatus
    ) {
        switch exchange(ControlRequest(command: .status), options: options) {
        case .failure(let failure):
            return (nil, failure.message, failure.status)
        case .success(let (config, response, line)):
            let all = response.markets ?? [:]
            let selected: [String]
            do { selected = try MarketSelection.resolve(names, map: config.instrumentMap, known: Array(all.keys)) } catch {
                return (nil, "\(error)", .unknownMarket)
            }
            var shown = response
            shown.markets = all.filter { selected.contains($0.key) }
            if !names.isEmpty { shown.venue = nil } // the venue's row comes with the full status only
            let text =
                json
                ? (names.isEmpty
                    ? String(decoding: line, as: UTF8.self) : String(decoding: WireCoding.line(shown).dropLast(), as: UTF8.self))
                : table(shown, configSource: config.source)
            let venueRunning = shown.venue.map { $0.state == .running } ?? true
            return (
                text, nil, !selected.isEmpty && selected.allSatisfy({ all[$0]?.state == .running }) && venueRunning ? .ok : .notAllRunning
            )
        }
    }

    /// `supervisor start|stop|restart MARKET...|all` and `reload`: one request per market, in the
    /// order given (`all`: the supervisor's markets, sorted); the worst exit status of them.
    public static func change(_ command: ControlRequest.Command, markets names: [String], json: Bool, options: SupervisorOptions)
        -> SupervisorExitStatus
    {
        var targets: [String?] = command == .reload ? [nil] : names
        if command != .reload, names.count == 1, names[0].lowercased() == "all" {
            switch exchange(ControlRequest(command: .status), options: options) {
            case .failure(let failure): return fail(failure.status, failure.message)
            case .success(let (_, response, _)): targets = (response.markets ?? [:]).keys.sorted()
            }
        } else if command != .reload, names.contains(where: { $0.lowercased() == "all" }) {
            return fail(.usage, "\(command.rawValue): \"all\" stands alone, not with market names")
        }
        var worst = SupervisorExitStatus.ok
        for target in targets {
            let status: SupervisorExitStatus
            switch exchange(ControlRequest(command: command, market: target), options: options) {
            case .failure(let failure):
                status = fail(failure.status, failure.message)
                if failure.status != .refused { return status } // not running, not permitted: the rest would fail alike
            case .success(let (_, response, line)):
                if json { print(String(decoding: line, as: UTF8.self)) }
                if response.ok {
                    if !json { print(response.message) }
                    status = .ok
                } else {
                    ClientError.print("supervisor", response.message)
                    if response.failure == .refused {
                        status = response.reason == "not_permitted" ? .notPermitted : .refused
                    } else {
                        status = .notAllRunning
                    }
                }
            }
            if worst == .ok || (status != .ok && status.rawValue > worst.rawValue) { worst = status }
        }
        return worst
    }

    /// Kept for callers of the one-request form.
    public static func run(_ request: ControlRequest, json: Bool, options: SupervisorOptions) -> SupervisorExitStatus {
        request.command == .status
            ? status(markets: [], json: json, options: options)
            : change(request.command, markets: request.market.map { [$0] } ?? [], json: json, options: options)
    }

    struct Failure: Error {
        var status: SupervisorExitStatus
        var message: String
    }

    /// One request on the control socket and its answer (with the configuration that found it).
    static func exchange(_ request: ControlRequest, options: SupervisorOptions) -> Result<
        (Configuration, ControlResponse, [UInt8]), Failure
    > {
        let config: Configuration
        do {
            config = try options.load()
        } catch {
            return .failure(Failure(status: .config, message: "\(error)"))
        }
        let path = config.paths.supervisorSocket
        let client: LineClient
        do { client = try LineClient(path: path) } catch {
            if error.code == EACCES {
                return .failure(
                    Failure(
                        status: .notPermitted,
                        message: "\(path): permission denied (the socket is mode 0660: run as root, the supervisor's user or its group)"))
            }
            return .failure(
                Failure(
                    status: .notRunning,
                    message:
                        "the supervisor is not running: nothing serves \(path) (\(String(cString: strerror(error.code)))); configuration: \(config.source)"
                ))
        }
        // Long enough for a stop and a start with SIGKILLs, the server answers first with a timeout.
        let s = config.supervisor
        let wait = s.stopTimeout + s.startTimeout + s.watchdogKillGrace + 10
        let line: [UInt8]
        do {
            try client.send(WireCoding.line(request))
            line = try client.readLine(timeoutSeconds: wait)
        } catch {
            return .failure(Failure(status: .osError, message: "\(path): \(error)"))
        }
        guard let response = try? WireCoding.decode(ControlResponse.self, from: line) else {
            return .failure(
                Failure(
                    status: .osError,
                    message: "\(path): an answer that is not a supervisor response: \(String(decoding: line.prefix(200), as: UTF8.self))"))
        }
        return .success((config, response, line))
    }

    /// The status table: a header line, one row per market, then the alerts and the workers no
    /// watchdog answers.
    public static func table(_ response: ControlResponse, configSource: String? = nil) -> String {
        var rows = [["MARKET", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "NEXT RESTART"]]
        let markets = response.markets ?? [:]
        func row(_ name: String, _ m: MarketStatus) -> [String] {
            let last = m.lastExit.map { e in
                let status =
                    e.signal.map { "signal \($0) (\(WorkerExit.signalName($0)))" } ?? e.status.map { "status \($0)" } ?? e.description
                return "\(status) after \(SecondsText.format(e.afterSeconds)) at \(e.atUTC)" + (e.reason.map { " (\($0))" } ?? "")
            }
            let next = m.nextRestartInSeconds.map { "in \(SecondsText.format($0)) (\(m.nextRestartUTC ?? ""))" }
            return [
                name, m.state.rawValue, m.pid.map(String.init) ?? "-", m.uptimeSeconds.map(SecondsText.format) ?? "-", String(m.restarts),
                last ?? "-", next ?? "-",
            ]
        }
        for name in markets.keys.sorted() { rows.append(row(name, markets[name]!)) }
        // The paper venue the supervisor runs: a row of its own kind, after the markets (`venue` in --json).
        if let v = response.venue { rows.append(row(VenueChild.name + " (venue)", v)) }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var lines = ["supervisor pid \(response.supervisorPid): \(response.message)"]
        if let configSource { lines.append("configuration: \(configSource)") }
        for r in rows {
            let padded = r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
            lines.append(padded.joined(separator: "  "))
        }
        for name in markets.keys.sorted() {
            if let since = markets[name]?.stoppedByOperatorSinceUTC {
                lines.append(
                    "\(name): stopped by operator, since \(since) (stays stopped across supervisor restarts; supervisor start \(name) runs it)"
                )
            }
        }
        for name in markets.keys.sorted() { if let alert = markets[name]?.alert { lines.append("ALERT: " + alert) } }
        if let alert = response.venue?.alert { lines.append("ALERT: " + alert) }
        // A standby of the lease across hosts, and who holds its market (its STATUS= line: WorkerCore.LeaseKeeper).
        for name in markets.keys.sorted() {
            if let status = markets[name]?.workerStatus, status.contains("STANDBY") || status.contains("LEASE_LOST") {
                lines.append((status.contains("LEASE_LOST") ? "LEASE_LOST: " : "STANDBY: ") + "\(name): " + status)
            }
        }
        // A worker nobody watches (its STATUS= line says so: WorkerCore.WatchdogObservation).
        for name in markets.keys.sorted() {
            if let status = markets[name]?.workerStatus, status.contains("WATCHDOG_UNREACHABLE") {
                lines.append("UNOBSERVED: \(name): " + status)
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func fail(_ status: SupervisorExitStatus, _ message: String) -> SupervisorExitStatus {
        ClientError.print("supervisor", message)
        return status
    }
}
