import Testing

@testable import RobotConfig

/// `safety.unobserved_seconds` and `safety.trade_without_watchdog`: default, values, strict errors.
@Suite struct UnobservedSettingsTests {
    let markets = #""instrument_map": {"MES": "ES"}, "markets": {"ES": {"execution": "MES", "streams": {"ES1": {"instrument": "ES"}}}}"#

    func parse(_ extra: String) throws(ConfigError) -> Configuration {
        try ConfigLoader.parse(Array("{\(markets)\(extra)}".utf8), source: "robot.json", home: "/srv")
    }

    func error(_ extra: String) -> ConfigError? {
        do {
            _ = try parse(extra)
            return nil
        } catch { return error }
    }

    @Test func theDefaultIsTheHeartbeatLostThreshold() throws {
        #expect(try parse("").safety.unobservedSeconds == 120)
        #expect(try parse("").safety.tradeWithoutWatchdog == false)
        let c = try parse(
            #", "timings": {"heartbeat_interval_seconds": 5, "heartbeat_late_intervals": 2, "heartbeat_lost_seconds": 45}"#)
        #expect(c.safety.unobservedSeconds == 45)
        #expect(SafetySettings().unobservedSeconds == 120)
        #expect(try parse("").safety == SafetySettings(), "the embedded default equals the code's default")
    }

    @Test func theEmbeddedDefaultConfigurationHasTheCodesDefault() throws {
        let c = try ConfigLoader.parse(Array(DefaultConfiguration.text.utf8), source: DefaultConfiguration.name, home: "/srv/robot")
        #expect(c.safety == SafetySettings())
        #expect(c.safety.unobservedSeconds == c.timings.heartbeatLost)
        #expect(!c.safety.tradeWithoutWatchdog)
    }

    @Test func valuesAreRead() throws {
        let c = try parse(#", "safety": {"unobserved_seconds": 30, "trade_without_watchdog": true}"#)
        #expect(c.safety.unobservedSeconds == 30)
        #expect(c.safety.tradeWithoutWatchdog)
    }

    @Test func badValuesNameTheFileKeyAndValue() throws {
        let notBool = try #require(error(#", "safety": {"trade_without_watchdog": "yes"}"#))
        #expect(notBool.key == "safety.trade_without_watchdog")
        #expect("\(notBool)".contains("robot.json"))
        #expect("\(notBool)".contains("\"yes\""))
        let negative = try #require(error(#", "safety": {"unobserved_seconds": -1}"#))
        #expect(negative.key == "safety.unobserved_seconds")
        let text = try #require(error(#", "safety": {"unobserved_seconds": "120"}"#))
        #expect(text.key == "safety.unobserved_seconds")
    }

    @Test func aLimitThatAQuietLiveWorkerCouldMissIsRefused() throws {
        let short = try #require(error(#", "safety": {"unobserved_seconds": 15}"#))
        #expect(short.key == "safety.unobserved_seconds")
        #expect("\(short)".contains("twice health_interval_seconds (20)"), "\(short)")
        // The default (heartbeat_lost_seconds) is raised to twice the health interval, never refused.
        #expect(try parse(#", "safety": {"health_interval_seconds": 100}"#).safety.unobservedSeconds == 200)
        #expect(try parse(#", "safety": {"health_interval_seconds": 0.2}"#).safety.unobservedSeconds == 120)
        #expect(error(#", "safety": {"health_interval_seconds": 100, "unobserved_seconds": 150}"#)?.key == "safety.unobserved_seconds")
        // Turned off, the limit does not matter.
        #expect(try parse(#", "safety": {"health_interval_seconds": 100, "trade_without_watchdog": true}"#).safety.tradeWithoutWatchdog)
    }
}
