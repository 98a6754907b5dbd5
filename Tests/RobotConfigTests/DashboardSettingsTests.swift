import Foundation
import RobotConfig
import TestSupport
import Testing

/// The `dashboard` section: off when absent, an IP address, a token file off loopback, its own
/// port; the token file's mode and content checked when the watchdog reads it.
@Suite struct DashboardSettingsTests {
    func parse(_ section: String?, metrics: String? = nil, home: String = "/h") throws(ConfigError) -> DashboardSettings {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}}"#
        if let metrics { text += #", "metrics": "# + metrics }
        if let section { text += #", "dashboard": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: home).dashboard
    }

    @Test func offWhenAbsent() throws {
        #expect(try parse(nil).enabled == false)
        let s = try parse("{}")
        #expect(!s.enabled && s.host == "127.0.0.1" && s.port == 9480 && s.tokenFile == nil)
    }

    @Test func everyKeyIsRead() throws {
        let s = try parse(#"{"enabled": true, "host": "0.0.0.0", "port": 8080, "token_file": "secrets/dash.token"}"#, home: "/srv/robot")
        #expect(s.enabled && s.host == "0.0.0.0" && s.port == 8080 && s.tokenFile == "/srv/robot/secrets/dash.token")
        #expect(try parse(#"{"enabled": true, "host": "::1"}"#).host == "::1")
    }

    @Test func theEmbeddedDefaultServesItOnLoopback() throws {
        let config = try ConfigLoader.parse(Array(DefaultConfiguration.text.utf8), source: DefaultConfiguration.name, home: "/srv/robot")
        #expect(config.dashboard.enabled && config.dashboard.host == "127.0.0.1" && config.dashboard.port == 9480)
    }

    @Test(
        arguments: [
            (#"{"enabled": "yes"}"#, nil, "dashboard.enabled", "true or false"),
            (#"{"host": "localhost"}"#, nil, "dashboard.host", "IP address"),
            (#"{"host": "10.0.0.7"}"#, nil, "dashboard.host", "token_file"),
            (#"{"host": "0.0.0.0"}"#, nil, "dashboard.host", "token_file"),
            (#"{"port": 0}"#, nil, "dashboard.port", "1 to 65535"),
            (#"{"port": 9400}"#, #"{"watchdog_port": 9400}"#, "dashboard.port", "watchdog's metrics port"),
            (#"{"token_file": ""}"#, nil, "dashboard.token_file", "file path"),
            (#"{"token": "x"}"#, nil, "dashboard.token", "unknown key"),
        ] as [(String, String?, String, String)])
    func refusedWithTheKey(section: String, metrics: String?, key: String, expected: String) {
        do {
            _ = try parse(section, metrics: metrics)
            Issue.record("\(section) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.expected.contains(expected), "\(error)")
        }
    }

    @Test func theTokenIsReadFromAPrivateFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("dash.token", "  0123456789abcdef0123\n")
        chmod(file, 0o600)
        let s = try parse(#"{"enabled": true, "host": "0.0.0.0", "token_file": "\#(file)"}"#)
        #expect(try s.readToken() == "0123456789abcdef0123")
        #expect(try parse(#"{"enabled": true}"#).readToken() == nil)
    }

    @Test(arguments: [
        (0o644 as mode_t, "0123456789abcdef0123", "mode 0644"),
        (0o640 as mode_t, "0123456789abcdef0123", "mode 0640"),
        (0o606 as mode_t, "0123456789abcdef0123", "mode 0606"),
        (0o600 as mode_t, "short", "16 to 4096"),
        (0o600 as mode_t, "0123456789 abcdef0123", "without spaces"),
    ])
    func aBadTokenFileIsRefusedNamingFileAndKey(mode: mode_t, content: String, expected: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("dash.token", content)
        chmod(file, mode)
        let s = try parse(#"{"enabled": true, "host": "0.0.0.0", "token_file": "\#(file)"}"#)
        do {
            _ = try s.readToken()
            Issue.record("mode \(String(mode, radix: 8)) with \(content) was accepted")
        } catch {
            #expect(error.file == "robot.json" && error.key == "dashboard.token_file", "\(error)")
            #expect(error.value == "\"\(file)\"", "\(error)")
            #expect(error.expected.contains(expected), "\(error)")
        }
    }

    @Test func aMissingTokenFileIsRefused() throws {
        let s = try parse(#"{"enabled": true, "host": "0.0.0.0", "token_file": "/nonexistent/dash.token"}"#)
        #expect(throws: ConfigError.self) { try s.readToken() }
    }
}
