import RobotConfig
import Testing

/// The `alerting` section: off by default, plain http:// addresses, every number bounded.
@Suite struct AlertingSettingsTests {
    func parse(_ section: String?) throws(ConfigError) -> AlertingSettings {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}}"#
        if let section { text += #", "alerting": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: "/h").alerting
    }

    @Test func offByDefault() throws {
        #expect(try parse(nil).isOff)
        #expect(try parse("{}") == AlertingSettings())
        #expect(AlertingSettings().queueCapacity == 1000 && AlertingSettings().alertmanagerResend == 60)
    }

    @Test func everyKeyIsRead() throws {
        let s = try parse(
            #"{"alertmanager_url": "http://127.0.0.1:9093", "webhook_url": "http://[::1]:8080/hooks/robot", "queue_capacity": 10, "#
                + #""retry_initial_seconds": 0.5, "retry_max_seconds": 30, "request_timeout_seconds": 2, "alertmanager_resend_seconds": 15}"#
        )
        #expect(s.alertmanagerURL == HTTPURL(host: "127.0.0.1", port: 9093, path: "/"))
        #expect(s.alertmanagerURL?.appending("api/v2/alerts").description == "http://127.0.0.1:9093/api/v2/alerts")
        #expect(s.webhookURL == HTTPURL(host: "::1", port: 8080, path: "/hooks/robot"))
        #expect(s.webhookURL?.description == "http://[::1]:8080/hooks/robot")
        #expect(s.queueCapacity == 10 && s.retryInitial == 0.5 && s.retryMax == 30 && s.requestTimeout == 2 && s.alertmanagerResend == 15)
        #expect(try parse(#"{"webhook_url": "http://alerts.example"}"#).webhookURL == HTTPURL(host: "alerts.example", port: 80, path: "/"))
    }

    @Test(arguments: [
        (#"{"alertmanager_url": "https://am:9093"}"#, "alerting.alertmanager_url", "TLS-terminating proxy"),
        (#"{"alertmanager_url": "am:9093"}"#, "alerting.alertmanager_url", "expected an http:// address"),
        (#"{"alertmanager_url": 9093}"#, "alerting.alertmanager_url", "as a string"),
        (#"{"webhook_url": "http://h:0/"}"#, "alerting.webhook_url", "not a port"),
        (#"{"webhook_url": "http://user:pw@h/"}"#, "alerting.webhook_url", "credentials"),
        (#"{"webhook_url": "http://h/a b"}"#, "alerting.webhook_url", "no spaces"),
        (#"{"webhook_url": "http:///x"}"#, "alerting.webhook_url", "host name"),
        (#"{"queue_capacity": 0}"#, "alerting.queue_capacity", "1 to 100000"),
        (#"{"retry_initial_seconds": 10, "retry_max_seconds": 5}"#, "alerting.retry_max_seconds", "at least retry_initial_seconds (10)"),
        (#"{"request_timeout_seconds": 0}"#, "alerting.request_timeout_seconds", "0.1 to 300"),
        (#"{"url": "http://h"}"#, "alerting.url", "unknown key"),
    ])
    func refusedWithTheKey(section: String, key: String, expected: String) {
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
