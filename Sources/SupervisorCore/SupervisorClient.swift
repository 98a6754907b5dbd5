#if canImport(Glibc)
import Glibc
#endif
import Wire
import RobotConfig

/// The operator commands (`supervisor status|start|stop|restart|reload`): one request on the
/// control socket, one answer, printed; the exit status says how it went (`SupervisorExitStatus`).
///
/// The socket is found through the same configuration as `supervisor run` (`--config`, `--home`).
/// When nothing serves it: one line naming the path tried, exit 3; when its mode keeps this user
/// out, or the request needs root or the supervisor's user: exit 77. Errors go to stderr.
public enum SupervisorClient {
    public static func run(_ request: ControlRequest, json: Bool, options: SupervisorOptions) -> SupervisorExitStatus {
        let config: Configuration
        do {
            config = try options.load()
        } catch {
            return fail(.config, "\(error)")
        }
        let path = config.paths.supervisorSocket
        let client: LineClient
        do { client = try LineClient(path: path) } catch {
            if error.code == EACCES {
                return fail(.notPermitted, "\(path): permission denied (the socket is mode 0660: run as root, the supervisor's user or its group)")
            }
            return fail(.notRunning, "the supervisor is not running: nothing serves \(path) (\(String(cString: strerror(error.code))))")
        }
        // Long enough for a stop and a start with SIGKILLs, the server answers first with a timeout.
        let s = config.supervisor
        let wait = s.stopTimeout + s.startTimeout + s.watchdogKillGrace + 10
        let line: [UInt8]
        do {
            try client.send(WireCoding.line(request))
            line = try client.readLine(timeoutSeconds: wait)
        } catch {
            return fail(.osError, "\(path): \(error)")
        }
        guard let response = try? WireCoding.decode(ControlResponse.self, from: line) else {
            return fail(.osError, "\(path): an answer that is not a supervisor response: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        if request.command == .status {
            let markets = response.markets ?? [:]
            if json {
                print(String(decoding: line, as: UTF8.self))
            } else {
                print(table(response))
            }
            return !markets.isEmpty && markets.values.allSatisfy({ $0.state == .running }) ? .ok : .notAllRunning
        }
        if response.ok {
            print(response.message)
            return .ok
        }
        Supervisor.printError(response.message)
        if response.failure == .refused { return response.reason == "not_permitted" ? .notPermitted : .refused }
        return .notAllRunning
    }

    /// The status table: a header line, one row per market, then the alerts and the workers no
    /// watchdog answers.
    public static func table(_ response: ControlResponse) -> String {
        var rows = [["MARKET", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "NEXT RESTART"]]
        let markets = response.markets ?? [:]
        for name in markets.keys.sorted() {
            let m = markets[name]!
            let last = m.lastExit.map { e in
                let status = e.signal.map { "signal \($0) (\(WorkerExit.signalName($0)))" } ?? e.status.map { "status \($0)" } ?? e.description
                return "\(status) after \(SecondsText.format(e.afterSeconds)) at \(e.atUTC)" + (e.reason.map { " (\($0))" } ?? "")
            }
            let next = m.nextRestartInSeconds.map { "in \(SecondsText.format($0)) (\(m.nextRestartUTC ?? ""))" }
            rows.append([
                name, m.state.rawValue, m.pid.map(String.init) ?? "-", m.uptimeSeconds.map(SecondsText.format) ?? "-", String(m.restarts),
                last ?? "-", next ?? "-",
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var lines = ["supervisor pid \(response.supervisorPid): \(response.message)"]
        for r in rows {
            let padded = r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
            lines.append(padded.joined(separator: "  "))
        }
        for name in markets.keys.sorted() { if let alert = markets[name]?.alert { lines.append("ALERT: " + alert) } }
        // A worker nobody watches (its STATUS= line says so: WorkerCore.WatchdogObservation).
        for name in markets.keys.sorted() {
            if let status = markets[name]?.workerStatus, status.contains("WATCHDOG_UNREACHABLE") { lines.append("UNOBSERVED: \(name): " + status) }
        }
        return lines.joined(separator: "\n")
    }

    private static func fail(_ status: SupervisorExitStatus, _ message: String) -> SupervisorExitStatus {
        Supervisor.printError(message)
        return status
    }
}
