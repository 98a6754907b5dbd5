import RobotConfig

/// The argv and environment of one market's worker, built from the configuration.
///
/// The environment is the supervisor's own minus what systemd gave the supervisor itself
/// (`NOTIFY_SOCKET`, `WATCHDOG_*`, `LISTEN_*`), plus the supervisor's notify socket and watchdog,
/// `ROBOT_SUPERVISOR_PID` (the worker then asks for SIGTERM when its parent dies), and
/// `ROBOT_HOME`/`ROBOT_CONFIG`, so a custom command that runs robot-worker reads the same configuration.
public struct WorkerLaunch: Sendable, Equatable {
    public var argv: [String]
    public var environment: [String]

    /// - Parameters:
    ///   - workerDirectory: where the default `robot-worker` is (the supervisor's own folder).
    ///   - configFile: the absolute configuration path, nil for the embedded default.
    public init(
        market: String, config: Configuration, configFile: String?, workerDirectory: String, notifySocket: String, supervisorPid: Int32,
        inherited: [String: String]
    ) {
        if let command = config.supervisor.workerCommand {
            argv = command.map {
                $0.replacingAll("{market}", with: market).replacingAll("{config}", with: configFile ?? "")
                    .replacingAll("{home}", with: config.home)
            }
        } else {
            argv = [workerDirectory + "/robot-worker", "--market", market]
            if let configFile { argv += ["--config", configFile] }
            argv += ["--home", config.home]
        }
        environment = Self.environment(
            config: config, configFile: configFile, notifySocket: notifySocket, supervisorPid: supervisorPid, inherited: inherited)
    }

    /// The environment of a supervised child (a worker, the paper venue), sorted `KEY=value` lines.
    static func environment(
        config: Configuration, configFile: String?, notifySocket: String, supervisorPid: Int32, inherited: [String: String]
    ) -> [String] {
        var env = inherited
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "ROBOT_CONFIG"] {
            env.removeValue(forKey: key)
        }
        env["NOTIFY_SOCKET"] = notifySocket
        env["WATCHDOG_USEC"] = String(UInt64((config.supervisor.watchdog * 1e6).rounded()))
        env["ROBOT_SUPERVISOR_PID"] = String(supervisorPid)
        env["ROBOT_HOME"] = config.home
        if let configFile { env["ROBOT_CONFIG"] = configFile }
        return env.sorted { $0.key < $1.key }.map { $0.key + "=" + $0.value }
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.utf8Range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func utf8Range(of target: String) -> Range<Substring.Index>? {
        let t = Array(target.utf8)
        var i = startIndex
        while i < endIndex {
            if self[i...].utf8.starts(with: t) {
                return i..<self.utf8.index(i, offsetBy: t.count)
            }
            i = index(after: i)
        }
        return nil
    }
}

/// The supervisor's socket paths, in `paths.socket_dir`.
extension Paths {
    /// The control socket: operator requests (docs/PROTOCOL.md).
    public var supervisorSocket: String { socketDir + "/supervisor.sock" }
    /// The workers' `NOTIFY_SOCKET`.
    public var supervisorNotifySocket: String { socketDir + "/supervisor-notify.sock" }
}
