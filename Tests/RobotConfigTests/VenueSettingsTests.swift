import RobotConfig
import Testing

/// The `venue` section: SIM everywhere by default, paper per market or for all, exact errors.
@Suite struct VenueSettingsTests {
    func parse(_ section: String?) throws(ConfigError) -> Configuration {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}, "#
        text += #""NQ": {"execution": "", "streams": {"NQ1": {"instrument": "NQ"}}}}"#
        if let section { text += #", "venue": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: "/h")
    }

    @Test func simEverywhereByDefault() throws {
        let v = try parse(nil).venue
        #expect(v.kind(of: "ES") == .sim && !v.usesPaper)
        #expect(
            v.socket == "/h/run/paper-venue.sock" && v.stateDir == "/h/state/paper-venue" && v.tokenFile == "/h/state/paper-venue/token")
        #expect(v.capital == 10_000_000 && v.reconcileIntervalSeconds == 60 && v.transport == .unix && v.tcpHost == nil)
        #expect(try parse(nil).safety.queueStallSeconds == 30)
        #expect(v.supervised && !v.supervisedBySupervisor)
    }

    @Test func everyKeyIsRead() throws {
        let v = try parse(
            #"{"kind": "sim", "markets": {"ES": "paper"}, "socket": "v.sock", "address": "127.0.0.1:9470", "transport": "tcp", "#
                + #""state_dir": "/var/v", "token_file": "t", "capital": 5000, "reconcile_interval_seconds": 5, "start_wait_seconds": 1, "#
                + #""supervised": false}"#
        ).venue
        #expect(v.kind(of: "ES") == .paper && v.kind(of: "NQ") == .sim && v.usesPaper)
        #expect(v.socket == "/h/v.sock" && v.stateDir == "/var/v" && v.tokenFile == "/h/t")
        #expect(v.tcpHost == "127.0.0.1" && v.tcpPort == 9470 && v.transport == .tcp)
        #expect(v.capital == 5000 && v.reconcileIntervalSeconds == 5 && v.startWaitSeconds == 1)
        #expect(!v.supervised && !v.supervisedBySupervisor)
    }

    @Test func theSupervisorRunsThePaperVenueWhenAMarketUsesItUnlessOptedOut() throws {
        #expect(try parse(#"{"kind": "paper"}"#).venue.supervisedBySupervisor)
        #expect(try parse(#"{"markets": {"NQ": "paper"}}"#).venue.supervisedBySupervisor)
        #expect(try parse(#"{"kind": "paper", "supervised": true}"#).venue.supervisedBySupervisor)
        #expect(try !parse(#"{"kind": "paper", "supervised": false}"#).venue.supervisedBySupervisor)
        #expect(try !parse(#"{"kind": "sim", "supervised": true}"#).venue.supervisedBySupervisor)
    }

    @Test(arguments: [
        (#"{"kind": "live"}"#, "venue.kind", "\"sim\" or \"paper\""),
        (#"{"markets": {"GC": "paper"}}"#, "venue.markets.GC", "not a configured market"),
        (#"{"markets": {"ES": 1}}"#, "venue.markets.ES", "\"sim\" or \"paper\""),
        (#"{"address": "10.0.0.1:9470"}"#, "venue.address", "loopback"),
        (#"{"address": "127.0.0.1"}"#, "venue.address", "loopback"),
        (#"{"transport": "tcp"}"#, "venue.transport", "needs venue.address"),
        (#"{"transport": "udp"}"#, "venue.transport", "\"unix\" or \"tcp\""),
        (#"{"capital": -1}"#, "venue.capital", "from 0"),
        (#"{"reconcile_interval_seconds": 0}"#, "venue.reconcile_interval_seconds", "from 0.05"),
        (#"{"socket": ""}"#, "venue.socket", "a path"),
        (#"{"colour": "red"}"#, "venue.colour", "unknown key"),
        (#"{"supervised": "no"}"#, "venue.supervised", "true or false"),
        (#"{"supervised": 0}"#, "venue.supervised", "true or false"),
    ])
    func badValuesNameTheKey(section: String, key: String, expected: String) {
        do {
            _ = try parse(section)
            Issue.record("\(section) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect("\(error)".contains(expected), "\(error)")
            #expect("\(error)".contains("robot.json"), "\(error)")
        }
    }
}
