import Testing

@testable import RobotConfig

/// The `watchdog` and `worker` sections: documented defaults, values read, ranges enforced.
@Suite struct WatchdogAndWorkerSettingsTests {
    let markets = #""instrument_map": {"MES": "ES"}, "markets": {"ES": {"execution": "MES", "streams": {"ES1": {"instrument": "ES"}}}}"#

    func parse(_ extra: String) throws(ConfigError) -> Configuration {
        try ConfigLoader.parse(Array("{\(markets)\(extra)}".utf8), source: "robot.json", home: "/srv")
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let c = try parse("")
        #expect(c.watchdog.helloTimeout == 5)
        #expect(c.watchdog.maxConnections == 512)
        #expect(c.watchdog.snapshotInterval == 0.05)
        #expect(c.worker.reconnectMax == 2)
        #expect(c.worker.journalMaxBytes == 64 << 20)
        #expect(c.worker.journalMaxAge == 604_800)
    }

    @Test func valuesAreRead() throws {
        let c = try parse(
            #", "watchdog": {"hello_timeout_seconds": 0.5, "max_connections": 20, "snapshot_interval_seconds": 0}, "#
                + #""worker": {"reconnect_max_seconds": 0.3, "journal_max_bytes": 8192, "journal_max_age_seconds": 60}"#)
        #expect(
            c.watchdog
                == {
                    var w = WatchdogSettings()
                    w.helloTimeout = 0.5
                    w.maxConnections = 20
                    w.snapshotInterval = 0
                    return w
                }())
        #expect(c.worker.reconnectMax == 0.3)
        #expect(c.worker.journalMaxBytes == 8192)
        #expect(c.worker.journalMaxAge == 60)
    }

    @Test func identityGatesOrdersIsOnByDefaultAndStrictlyABoolean() throws {
        #expect(try parse("").safety.identityGatesOrders == true)
        #expect(try parse(#", "safety": {"identity_gates_orders": false}"#).safety.identityGatesOrders == false)
        do {
            _ = try parse(#", "safety": {"identity_gates_orders": "no"}"#)
            Issue.record("a string was accepted")
        } catch {
            #expect("\(error)".contains("safety.identity_gates_orders"), "\(error)")
            #expect("\(error)".contains("expected true or false"), "\(error)")
        }
    }

    @Test func outOfRangeAndUnknownKeysNameTheKey() {
        #expect(throws: ConfigError.self) { try parse(#", "watchdog": {"max_connections": 0}"#) }
        do {
            _ = try parse(#", "worker": {"reconnect_max_seconds": 0.3, "colour": 1}"#)
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.key == "worker.colour")
            #expect(error.expected.contains("reconnect_max_seconds"))
        }
    }
}
