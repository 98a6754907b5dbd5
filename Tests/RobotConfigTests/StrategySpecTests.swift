import Testing

@testable import RobotConfig

/// `markets.M.strategy`: values read, defaults, placeholders, and an error naming file, key and value for each bad value.
@Suite struct StrategySpecTests {
    func parse(_ strategy: String, source: String = "/etc/robot/robot.json") throws(ConfigError) -> StrategySpec? {
        let text =
            #"{"instrument_map": {"MES": "ES"}, "markets": {"ES": {"execution": "MES", "streams": {"ES1": {"instrument": "ES"}}"#
            + (strategy.isEmpty ? "" : #", "strategy": "# + strategy) + "}}}"
        return try ConfigLoader.parse(Array(text.utf8), source: source, home: "/srv/robot").markets["ES"]?.strategy
    }

    func error(_ strategy: String) -> ConfigError? {
        do {
            _ = try parse(strategy)
            return nil
        } catch { return error }
    }

    @Test func noStrategyByDefault() throws {
        #expect(try parse("") == nil)
    }

    @Test func defaultsAndPlaceholders() throws {
        let s = try #require(try parse(#"{"command": ["python3", "{config_dir}/s.py"], "environment": {"P": "{home}/x"}}"#))
        #expect(s.command == ["python3", "/etc/robot/s.py"])
        #expect(s.environment == ["P": "/srv/robot/x"])
        #expect(s.workingDirectory == "/srv/robot")
        #expect(s.heartbeatSeconds == 5)
        #expect(s.restart == StrategyRestartSettings())
        #expect(s.limits == RiskLimitSettings())
        #expect(s.limits.maxRejectionsPerMinute == 30)
    }

    @Test func theEmbeddedDefaultsConfigFolderIsHomesConfig() {
        #expect(ConfigLoader.configDirectory(source: DefaultConfiguration.name, home: "/srv/robot") == "/srv/robot/config")
        #expect(ConfigLoader.configDirectory(source: "/robot.json", home: "/h") == "/")
    }

    @Test func everyValueIsRead() throws {
        let s = try #require(
            try parse(
                #"{"command": ["/bin/s"], "working_directory": "strategies", "heartbeat_seconds": 0.5, "#
                    + #""restart": {"backoff_initial_seconds": 0.1, "backoff_max_seconds": 2, "max_crashes": 3, "crash_window_seconds": 30}, "#
                    + #""limits": {"max_order_quantity": 2, "max_position": 4, "max_open_orders": 1, "max_orders_per_minute": 10, "#
                    + #""max_notional": 20000.5, "max_rejections_per_minute": 5}}"#))
        #expect(s.workingDirectory == "/srv/robot/strategies")
        #expect(s.heartbeatSeconds == 0.5)
        #expect(s.restart.backoffInitialSeconds == 0.1 && s.restart.backoffMaxSeconds == 2)
        #expect(s.restart.maxCrashes == 3 && s.restart.crashWindowSeconds == 30)
        #expect(
            s.limits
                == RiskLimitSettings(
                    maxOrderQuantity: 2, maxPosition: 4, maxOpenOrders: 1, maxOrdersPerMinute: 10, maxNotional: 20000.5,
                    maxRejectionsPerMinute: 5))
    }

    @Test(arguments: [
        (#"{}"#, "markets.ES.strategy.command", "missing"),
        (#"{"command": []}"#, "markets.ES.strategy.command", "non-empty list"),
        (#"{"command": "python3 s.py"}"#, "markets.ES.strategy.command", "non-empty list"),
        (#"{"command": ["python3", 1]}"#, "markets.ES.strategy.command", "every word"),
        (#"{"command": [""]}"#, "markets.ES.strategy.command", "program name"),
        (#"{"command": ["s"], "environment": {"A=B": "x"}}"#, "markets.ES.strategy.environment.A=B", "not an environment variable"),
        (#"{"command": ["s"], "environment": {"A": 1}}"#, "markets.ES.strategy.environment.A", "expected a string"),
        (#"{"command": ["s"], "working_directory": ""}"#, "markets.ES.strategy.working_directory", "folder path"),
        (#"{"command": ["s"], "heartbeat_seconds": 0}"#, "markets.ES.strategy.heartbeat_seconds", "from 0.05 to 3600"),
        (#"{"command": ["s"], "heartbeat_seconds": "5"}"#, "markets.ES.strategy.heartbeat_seconds", "a number"),
        (#"{"command": ["s"], "restart": {"max_crashes": -1}}"#, "markets.ES.strategy.restart.max_crashes", "whole number from 0"),
        (
            #"{"command": ["s"], "restart": {"backoff_initial_seconds": 5, "backoff_max_seconds": 1}}"#,
            "markets.ES.strategy.restart.backoff_max_seconds", "at least backoff_initial_seconds"
        ),
        (#"{"command": ["s"], "limits": {"max_order_quantity": 0}}"#, "markets.ES.strategy.limits.max_order_quantity", "from 1"),
        (#"{"command": ["s"], "limits": {"max_position": 1.5}}"#, "markets.ES.strategy.limits.max_position", "whole number"),
        (#"{"command": ["s"], "limits": {"max_notional": -1}}"#, "markets.ES.strategy.limits.max_notional", "from 0"),
        (#"{"command": ["s"], "limits": {"max_orders": 1}}"#, "markets.ES.strategy.limits.max_orders", "unknown key"),
        (#"{"command": ["s"], "restart_after": 1}"#, "markets.ES.strategy.restart_after", "unknown key"),
    ])
    func aBadValueNamesFileKeyAndValue(strategy: String, key: String, expected: String) throws {
        let e = try #require(error(strategy), "\(strategy) was accepted")
        #expect(e.file == "/etc/robot/robot.json", "\(e)")
        #expect(e.key == key, "\(e)")
        #expect("\(e)".contains(expected), "\(e)")
    }
}
