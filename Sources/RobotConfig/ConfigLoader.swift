import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Finds, reads and validates the configuration.
///
/// The file is `--config PATH`, else `$ROBOT_CONFIG`, else the installed file when one exists
/// (`InstalledConfiguration`), else the embedded default. Relative paths in it resolve against
/// `--home DIR`, else `$ROBOT_HOME`, else the current folder.
public enum ConfigLoader {
    /// Loads the configuration the way every executable does. `installed` are the installed files
    /// to try (default: `InstalledConfiguration.candidates(environment:)`).
    public static func load(
        configPath: String?, home: String?, environment: [String: String], installed: [String]? = nil
    ) throws(ConfigError) -> Configuration {
        let homeDir = try resolveHome(home ?? environment["ROBOT_HOME"])
        if let path = configPath ?? environment["ROBOT_CONFIG"], !path.isEmpty {
            let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
            let bytes = try readFile(absolute, shownAs: path)
            return try parse(bytes, source: path, home: homeDir)
        }
        if let path = InstalledConfiguration.firstExisting(installed ?? InstalledConfiguration.candidates(environment: environment)) {
            return try parse(try readFile(path, shownAs: path), source: path, home: homeDir)
        }
        return try parse(Array(DefaultConfiguration.text.utf8), source: DefaultConfiguration.name, home: homeDir)
    }

    /// Validates configuration text. `source` names it in errors; `home` must be absolute.
    public static func parse(_ bytes: [UInt8], source: String, home: String) throws(ConfigError) -> Configuration {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw ConfigError(file: source, key: "", value: nil, expected: "not valid JSON: \(describe(error, in: bytes))")
        }
        guard case .object(let object) = root else {
            throw ConfigError(file: source, key: "", value: nil, expected: "expected a JSON object at the top")
        }
        var top = ConfigReader(file: source, path: "", object: object)

        let account = try account(&top)
        let map = try instrumentMap(&top)
        let markets = try markets(&top, map: map, home: home, configDir: configDirectory(source: source, home: home))
        let timings = try timings(&top)
        let paths = try paths(&top, home: home)
        let worker = try WorkerSettings.parse(&top)
        let watchdog = try WatchdogSettings.parse(&top)
        let supervisor = try SupervisorSettings.parse(&top)
        let safety = try SafetySettings.parse(&top, heartbeatLost: timings.heartbeatLost)
        let metrics = try MetricsSettings.parse(&top, markets: markets)
        let dashboard = try DashboardSettings.parse(&top, home: home, metrics: metrics)
        let alerting = try AlertingSettings.parse(&top)
        let guardSettings = try GuardSettings.parse(&top, home: home)
        let venue = try VenueSettings.parse(&top, paths: paths, markets: markets, home: home)
        try top.rejectUnknownKeys(
            [
                "account", "instrument_map", "markets", "timings", "paths", "worker", "watchdog", "supervisor", "safety", "metrics",
                "dashboard", "alerting", "guard", "venue",
            ])
        return Configuration(
            source: source, home: home, account: account, instrumentMap: map, markets: markets, timings: timings, paths: paths,
            worker: worker, watchdog: watchdog, supervisor: supervisor, safety: safety, metrics: metrics, dashboard: dashboard,
            alerting: alerting, guardSettings: guardSettings, venue: venue)
    }

    private static func account(_ top: inout ConfigReader) throws(ConfigError) -> TradingAccount {
        let name = try top.optionalString("account", default: TradingAccount.default.name)
        guard let account = TradingAccount(name) else {
            throw top.error(
                "account", .string(name), "expected an account name: 1 to 32 of A-Z, a-z, 0-9, '_', '-', starting with a letter or digit")
        }
        return account
    }

    private static func instrumentMap(_ top: inout ConfigReader) throws(ConfigError) -> InstrumentMap {
        guard var reader = try top.optionalObject("instrument_map") else { return InstrumentMap([:]) }
        var map: [String: String] = [:]
        for (key, value) in reader.members() {
            _ = reader.optional(key)
            guard Identifier.isValidMarket(key) else {
                throw reader.error(key, nil, "\"\(key)\" is not an instrument: expected 1 to 16 of A-Z, 0-9, '_', starting with a letter")
            }
            guard case .string(let target) = value, Identifier.isValidMarket(target) else {
                throw reader.error(key, value, "expected a canonical instrument (1 to 16 of A-Z, 0-9, '_', starting with a letter)")
            }
            guard target != key else { throw reader.error(key, value, "an instrument maps to itself already; remove this entry") }
            map[key] = target
        }
        // In key order, so the same file always names the same entry.
        for (key, target) in map.sorted(by: { $0.key < $1.key }) where map[target] != nil {
            throw reader.error(
                key, .string(target), "\(target) is itself mapped to \(map[target]!); map \(key) to the canonical instrument")
        }
        return InstrumentMap(map)
    }

    /// What `{config_dir}` stands for in a strategy (docs/CONFIG.md): the configuration file's
    /// folder; for the embedded default (the text of `config/robot.json`), `<home>/config`.
    static func configDirectory(source: String, home: String) -> String {
        guard source != DefaultConfiguration.name else { return home + "/config" }
        let absolute = normalize(source.hasPrefix("/") ? source : currentDirectory() + "/" + source)
        let folder = absolute[..<(absolute.lastIndex(of: "/") ?? absolute.startIndex)]
        return folder.isEmpty ? "/" : String(folder)
    }

    private static func markets(
        _ top: inout ConfigReader, map: InstrumentMap, home: String, configDir: String
    ) throws(ConfigError) -> [String: MarketSpec] {
        var reader = try top.object("markets")
        var markets: [String: MarketSpec] = [:]
        for (name, value) in reader.members() {
            _ = reader.optional(name)
            guard Identifier.isValidMarket(name) else {
                throw reader.error(
                    name, nil, "\"\(name)\" is not a canonical instrument: expected 1 to 16 of A-Z, 0-9, '_', starting with a letter")
            }
            if let canonical = map.executionToCanonical[name] {
                throw reader.error(
                    name, nil, "\(name) is an execution instrument of \(canonical) (instrument_map); configure the market as \(canonical)")
            }
            guard case .object(let o) = value else { throw reader.error(name, value, "expected an object") }
            var m = ConfigReader(file: reader.file, path: reader.keyPath(name), object: o)
            let execution = try m.string("execution")
            if !execution.isEmpty {
                guard let canonical = try? map.canonical(of: execution) else {
                    throw m.error("execution", .string(execution), "expected an instrument (1 to 16 of A-Z, 0-9, '_'), or \"\" for none")
                }
                guard execution == execution.uppercased() else {
                    throw m.error("execution", .string(execution), "expected upper case: \"\(execution.uppercased())\"")
                }
                guard canonical.name == name else {
                    throw m.error("execution", .string(execution), "maps to \(canonical), expected an instrument of \(name)")
                }
            }
            var streamsReader = try m.object("streams")
            var streams: [StreamSpec] = []
            for (id, streamValue) in streamsReader.members() {
                _ = streamsReader.optional(id)
                guard isValidStreamID(id) else {
                    throw streamsReader.error(id, nil, "\"\(id)\" is not a stream id: expected 1 to 32 of A-Z, a-z, 0-9, '_', '-'")
                }
                guard case .object(let so) = streamValue else { throw streamsReader.error(id, streamValue, "expected an object") }
                var s = ConfigReader(file: reader.file, path: streamsReader.keyPath(id), object: so)
                let instrument = try s.string("instrument")
                try s.rejectUnknownKeys(["instrument"])
                streams.append(StreamSpec(id: id, instrument: instrument))
            }
            guard !streams.isEmpty else { throw m.error("streams", .object(JSONObject()), "expected at least one stream") }
            let feed = try FeedSpec.parse(&m, home: home)
            let strategy = try StrategySpec.parse(&m, home: home, configDir: configDir)
            try m.rejectUnknownKeys(["execution", "streams", "feed", "strategy"])
            markets[name] = MarketSpec(
                canonical: name, execution: execution, streams: streams.sorted { $0.id < $1.id }, feed: feed, strategy: strategy)
        }
        guard !markets.isEmpty else { throw top.error("markets", .object(JSONObject()), "expected at least one market") }
        return markets
    }

    private static func timings(_ top: inout ConfigReader) throws(ConfigError) -> Timings {
        var t = try top.optionalObject("timings") ?? ConfigReader(file: top.file, path: "timings", object: JSONObject())
        let day = 86_400.0
        let timings = Timings(
            heartbeatInterval: try t.number("heartbeat_interval_seconds", default: 30, in: 0.01...day),
            invariantsInterval: try t.number("invariants_interval_seconds", default: 60, in: 0.001...day),
            heartbeatLateIntervals: try t.number("heartbeat_late_intervals", default: 2, in: 1...1000),
            heartbeatLost: try t.number("heartbeat_lost_seconds", default: 120, in: 0.01...day))
        let late = timings.heartbeatInterval * timings.heartbeatLateIntervals
        if timings.heartbeatLost <= late {
            // The value as written (60, not 60.0); the default when the key is absent.
            let lost = timings.heartbeatLost
            let found = t.optional("heartbeat_lost_seconds") ?? (lost == lost.rounded() ? .int(Int64(lost)) : .double(lost))
            throw t.error(
                "heartbeat_lost_seconds", found,
                "expected more than heartbeat_interval_seconds x heartbeat_late_intervals (\(ConfigReader.format(late)))")
        }
        try t.rejectUnknownKeys([
            "heartbeat_interval_seconds", "invariants_interval_seconds", "heartbeat_late_intervals", "heartbeat_lost_seconds",
        ])
        return timings
    }

    private static func paths(_ top: inout ConfigReader, home: String) throws(ConfigError) -> Paths {
        var p = try top.optionalObject("paths") ?? ConfigReader(file: top.file, path: "paths", object: JSONObject())
        func resolve(_ key: String, _ fallback: String) throws(ConfigError) -> String {
            let raw = try p.optionalString(key, default: fallback)
            guard !raw.isEmpty, !raw.utf8.contains(0) else { throw p.error(key, .string(raw), "expected a folder path") }
            return normalize(raw.hasPrefix("/") ? raw : home + "/" + raw)
        }
        let paths = Paths(
            lockDir: try resolve("lock_dir", "runtime_locks"),
            stateDir: try resolve("state_dir", "state"),
            socketDir: try resolve("socket_dir", "run"),
            allowNetworkLockDir: try p.optionalBool("allow_network_lock_dir", default: false))
        // Every socket under it must fit a Unix socket address; the longest name it can hold is a
        // worker's control socket for a 16-letter market (`worker-<market>.sock`).
        let longestMarket = CanonicalMarket(String(repeating: "M", count: 16))! // valid: 16 letters
        let longestName = paths.workerSocket(longestMarket).utf8.count - paths.socketDir.utf8.count
        if paths.socketDir.utf8.count + longestName > UnixSocket.maxPathBytes {
            throw p.error(
                "socket_dir", .string(paths.socketDir),
                "too long for a Unix socket path (at most \(UnixSocket.maxPathBytes - longestName) bytes); choose a shorter folder")
        }
        try p.rejectUnknownKeys(["lock_dir", "state_dir", "socket_dir", "allow_network_lock_dir"])
        return paths
    }

    static func isValidStreamID(_ id: String) -> Bool {
        let u = id.utf8
        guard (1...32).contains(u.count) else { return false }
        return u.allSatisfy {
            ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    private static func resolveHome(_ home: String?) throws(ConfigError) -> String {
        guard let home, !home.isEmpty else { return currentDirectory() }
        let absolute = home.hasPrefix("/") ? home : currentDirectory() + "/" + home
        var st = stat()
        guard stat(absolute, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ConfigError(file: home, key: "", value: nil, expected: "the home folder does not exist or is not a folder")
        }
        return normalize(absolute)
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "/" }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// Removes `.` components, empty components and a trailing slash (no symlink resolution).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == "..", !parts.isEmpty, parts.last != ".." {
                parts.removeLast()
                continue
            }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    private static func readFile(_ path: String, shownAs name: String) throws(ConfigError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigError(file: name, key: "", value: nil, expected: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ConfigError(file: name, key: "", value: nil, expected: "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > 16 << 20 {
                throw ConfigError(file: name, key: "", value: nil, expected: "larger than 16 MiB; is this the configuration?")
            }
        }
        return out
    }

    /// Turns "at byte N" of a parse error into "line L, column C".
    private static func describe(_ error: LineError, in bytes: [UInt8]) -> String {
        guard let offset = error.offset else { return error.detail }
        var line = 1
        var column = 1
        for b in bytes.prefix(offset) {
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        let what = error.detail.split(separator: " at byte ").first.map(String.init) ?? error.detail
        return "\(what) at line \(line), column \(column)"
    }
}
