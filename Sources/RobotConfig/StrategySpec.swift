import Wire

/// A market's strategy process (`markets.M.strategy`, docs/CONFIG.md and docs/STRATEGY.md): what
/// the worker runs once it holds the market, how it restarts it, how long it may stay silent, and
/// the pre-trade risk limits every order it sends must pass.
public struct StrategySpec: Sendable, Equatable {
    /// argv; the first word is found on the child's `PATH` when it has no `/`.
    public var command: [String]
    /// Added to (and overriding) the worker's own environment.
    public var environment: [String: String]
    /// Absolute; relative values resolve against the home folder. Default: the home folder.
    public var workingDirectory: String
    /// No message (a heartbeat counts) for this long means hung.
    public var heartbeatSeconds: Double
    public var restart: StrategyRestartSettings
    public var limits: RiskLimitSettings

    public init(
        command: [String], environment: [String: String] = [:], workingDirectory: String, heartbeatSeconds: Double = 5,
        restart: StrategyRestartSettings = StrategyRestartSettings(), limits: RiskLimitSettings = RiskLimitSettings()
    ) {
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.heartbeatSeconds = heartbeatSeconds
        self.restart = restart
        self.limits = limits
    }

    static let keys = ["command", "environment", "working_directory", "heartbeat_seconds", "restart", "limits"]

    /// `{config_dir}` and `{home}` in the command, the environment's values and the working
    /// folder stand for the configuration's folder and the home folder.
    static func parse(_ market: inout ConfigReader, home: String, configDir: String) throws(ConfigError) -> StrategySpec? {
        func expand(_ s: String) -> String { s.replacingAll("{config_dir}", with: configDir).replacingAll("{home}", with: home) }
        guard var r = try market.optionalObject("strategy") else { return nil }
        let commandValue = try r.required("command", "a list of strings: the program and its arguments")
        guard case .array(let words) = commandValue, !words.isEmpty else {
            throw r.error("command", commandValue, "expected a non-empty list of strings: the program and its arguments")
        }
        var command: [String] = []
        for word in words {
            guard case .string(let s) = word, !s.utf8.contains(0) else {
                throw r.error("command", commandValue, "expected every word to be a string")
            }
            command.append(expand(s))
        }
        guard !command[0].isEmpty else { throw r.error("command", commandValue, "expected a program name as the first word") }
        var environment: [String: String] = [:]
        if var e = try r.optionalObject("environment") {
            for (key, value) in e.members() {
                _ = e.optional(key)
                guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: "=")), !key.utf8.contains(0) else {
                    throw e.error(key, value, "\"\(key)\" is not an environment variable name")
                }
                guard case .string(let s) = value, !s.utf8.contains(0) else { throw e.error(key, value, "expected a string") }
                environment[key] = expand(s)
            }
        }
        let rawFolder = expand(try r.optionalString("working_directory", default: "."))
        guard !rawFolder.isEmpty, !rawFolder.utf8.contains(0) else {
            throw r.error("working_directory", .string(rawFolder), "expected a folder path")
        }
        let folder = ConfigLoader.normalize(rawFolder.hasPrefix("/") ? rawFolder : home + "/" + rawFolder)
        let heartbeat = try r.number("heartbeat_seconds", default: 5, in: 0.05...3600)
        let restart = try StrategyRestartSettings.parse(&r)
        let limits = try RiskLimitSettings.parse(&r)
        try r.rejectUnknownKeys(keys)
        return StrategySpec(
            command: command, environment: environment, workingDirectory: folder, heartbeatSeconds: heartbeat, restart: restart,
            limits: limits)
    }
}

/// `markets.M.strategy.restart`: the backoff between starts and the crash-loop limit.
public struct StrategyRestartSettings: Sendable, Equatable {
    /// The first restart waits this long; each crash in a row doubles it, up to `backoffMaxSeconds`.
    public var backoffInitialSeconds: Double = 0.5
    public var backoffMaxSeconds: Double = 30
    /// More than this many crashes (exits or hangs) within `crashWindowSeconds` latch the
    /// fail-safe `STRATEGY_MISBEHAVING`.
    public var maxCrashes: Int = 5
    public var crashWindowSeconds: Double = 300

    public init() {}

    static func parse(_ strategy: inout ConfigReader) throws(ConfigError) -> StrategyRestartSettings {
        var s = StrategyRestartSettings()
        guard var r = try strategy.optionalObject("restart") else { return s }
        s.backoffInitialSeconds = try r.number("backoff_initial_seconds", default: s.backoffInitialSeconds, in: 0.001...3600)
        s.backoffMaxSeconds = try r.number(
            "backoff_max_seconds", default: max(s.backoffMaxSeconds, s.backoffInitialSeconds), in: 0.001...86_400)
        if s.backoffMaxSeconds < s.backoffInitialSeconds {
            throw r.error(
                "backoff_max_seconds", .double(s.backoffMaxSeconds),
                "expected at least backoff_initial_seconds (\(ConfigReader.format(s.backoffInitialSeconds)))")
        }
        s.maxCrashes = try r.integer("max_crashes", default: s.maxCrashes, in: 0...10_000)
        s.crashWindowSeconds = try r.number("crash_window_seconds", default: s.crashWindowSeconds, in: 0.001...86_400)
        try r.rejectUnknownKeys(["backoff_initial_seconds", "backoff_max_seconds", "max_crashes", "crash_window_seconds"])
        return s
    }
}

/// `markets.M.strategy.limits`: the pre-trade risk limits of a strategy's orders (docs/STRATEGY.md,
/// "The gate"). nil is no limit; every limit is inclusive (an order exactly at it passes).
public struct RiskLimitSettings: Sendable, Equatable {
    public var maxOrderQuantity: Int?
    /// The market's net position (all streams) if every open order and this one filled, in absolute value.
    public var maxPosition: Int?
    public var maxOpenOrders: Int?
    /// Orders accepted in the last 60 seconds, this one included.
    public var maxOrdersPerMinute: Int?
    /// Quantity times price (the limit price, else the last tick's).
    public var maxNotional: Double?
    /// More rejected orders and malformed lines than this in 60 seconds latch `STRATEGY_MISBEHAVING`.
    public var maxRejectionsPerMinute: Int = 30

    public init(
        maxOrderQuantity: Int? = nil, maxPosition: Int? = nil, maxOpenOrders: Int? = nil, maxOrdersPerMinute: Int? = nil,
        maxNotional: Double? = nil, maxRejectionsPerMinute: Int = 30
    ) {
        self.maxOrderQuantity = maxOrderQuantity
        self.maxPosition = maxPosition
        self.maxOpenOrders = maxOpenOrders
        self.maxOrdersPerMinute = maxOrdersPerMinute
        self.maxNotional = maxNotional
        self.maxRejectionsPerMinute = maxRejectionsPerMinute
    }

    static let keys = [
        "max_order_quantity", "max_position", "max_open_orders", "max_orders_per_minute", "max_notional", "max_rejections_per_minute",
    ]

    static func parse(_ strategy: inout ConfigReader) throws(ConfigError) -> RiskLimitSettings {
        var s = RiskLimitSettings()
        guard var r = try strategy.optionalObject("limits") else { return s }
        func count(_ key: String, from low: Int) throws(ConfigError) -> Int? {
            guard r.optional(key) != nil else { return nil }
            return try r.integer(key, default: 0, in: low...1_000_000_000)
        }
        s.maxOrderQuantity = try count("max_order_quantity", from: 1)
        s.maxPosition = try count("max_position", from: 0)
        s.maxOpenOrders = try count("max_open_orders", from: 0)
        s.maxOrdersPerMinute = try count("max_orders_per_minute", from: 0)
        if r.optional("max_notional") != nil { s.maxNotional = try r.number("max_notional", default: 0, in: 0...1e15) }
        s.maxRejectionsPerMinute = try r.integer("max_rejections_per_minute", default: s.maxRejectionsPerMinute, in: 0...1_000_000)
        try r.rejectUnknownKeys(keys)
        return s
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        let parts = self.split(separator: target, omittingEmptySubsequences: false)
        return parts.joined(separator: replacement)
    }
}
