import Foundation
import Platform
import Testing
import Wire

/// Alerts reach a person (issue 18): each raised and resolved alert is one structured journal
/// entry, and is pushed to a real Alertmanager (de-duplicated across a watchdog restart, then
/// resolved) and to a webhook, through a queue that survives a restart while the receiver is down.
@Suite struct WatchdogAlertingTests {
    /// A configuration whose ES streams break the identity invariants (MES1 is not a stream id of
    /// ES's instrument naming): the worker reports a violation at start.
    func violating(_ alerting: String) -> TestConfig {
        var config = TestConfig()
        config.markets["ES"] = ("MES", [("MES1", "ES")])
        config.extraSections["alerting"] = alerting
        return config
    }

    func fixed(_ config: TestConfig) -> TestConfig {
        var c = config
        c.markets["ES"] = ("MES", [("ES1", "ES"), ("ES2", "ES")])
        return c
    }

    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }

    @Test func aRealAlertmanagerReceivesTheAlertKeepsOneAcrossAWatchdogRestartAndSeesItResolved() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let am = try Alertmanager(home: home)
        defer { am.stop() }
        let config = violating(
            #"{"alertmanager_url": "http://127.0.0.1:\#(am.port)", "alertmanager_resend_seconds": 0.5, "retry_initial_seconds": 0.1}"#)
        try home.writeConfig(config)
        let watchdog = try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        let raised = try waitFor("the identity alert in the watchdog") {
            home.quickStatus()?.markets["ES"]?.alerts.first { $0.condition == "IDENTITY_VIOLATION" }
        }
        let listed = try waitFor("the alert at the Alertmanager", seen: { "\((try? am.alerts()).map { "\($0.map(\.labels))" } ?? "-")" }) {
            try am.alerts().first { $0.labels["alert_id"] == raised.alertId }
        }
        #expect(listed.labels["alertname"] == "IDENTITY_VIOLATION" && listed.labels["market"] == "ES")
        #expect(listed.labels["severity"] == "critical" && listed.labels["source"] == "robot-watchdog")
        #expect(listed.annotations["summary"]?.isEmpty == false && listed.annotations["recommended_action"]?.isEmpty == false)
        #expect(listed.status.state == "active")

        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0, "\(watchdog.stderr)")
        let restartedAt = Date()
        try home.startWatchdog()
        // The restarted watchdog posts its open alert again (at once): the Alertmanager updates the
        // one it has instead of listing a second.
        let reposted = try waitFor(
            "the restarted watchdog's re-post", seen: { "\((try? am.alerts()).map { "\($0.map(\.updatedAt))" } ?? "-")" }
        ) {
            try am.alerts().first { $0.labels["alert_id"] == raised.alertId && (Self.date($0.updatedAt) ?? .distantPast) > restartedAt }
        }
        #expect(reposted.startsAt == listed.startsAt)
        let all = try am.alerts()
        #expect(all.count == 1, "one alert, not two: \(all.map(\.labels))")
        #expect(home.quickStatus()?.markets["ES"]?.alerts.map(\.alertId) == [raised.alertId], "the restart raised nothing new")

        try home.writeConfig(fixed(config))
        worker.signal(SIGHUP)
        try waitFor("the alert resolved at the Alertmanager", seen: { "\((try? am.alerts()).map { "\($0.map(\.labels))" } ?? "-")" }) {
            try am.alerts().isEmpty ? true : nil
        }
        let resolved = try #require(home.quickStatus()?.alertHistory.first { $0.alertId == raised.alertId })
        #expect(resolved.resolvedAtUtc != nil)
    }

    @Test func underSystemdEachRaisedAndResolvedAlertIsOneJournalEntryAndReachesTheWebhook() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let receiver = try WebhookReceiver(port: try MetricsProbe.freePort())
        defer { receiver.stop() }
        var config = TestConfig()
        config.extraSections["alerting"] = #"{"webhook_url": "http://127.0.0.1:\#(receiver.port)/robot/alerts"}"#
        try home.writeConfig(config)
        let journald = try NotifyListener(path: home.path + "/journal.sock")
        let watchdog = try home.start("watchdog", ["run"], environment: ["ROBOT_JOURNAL_SOCKET": journald.path], journalStream: true)
        try waitFor("the watchdog to serve", seen: { watchdog.stderr }) { UnixSocket.isServing(home.watchdogSocket) ? true : nil }
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("a heartbeat of ES") {
            let m = home.quickStatus()?.markets["ES"]
            return m?.heartbeatState == "OK" && m?.lastHeartbeatUtc != nil ? true : nil
        }
        func entries() -> [[String: String]] {
            journald.poll()
            return journald.messages.map { m in
                Dictionary(
                    m.text.split(separator: "\n").compactMap { line in
                        line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
                    }, uniquingKeysWith: { a, _ in a })
            }
        }

        worker.signal(SIGSTOP)
        defer { worker.signal(SIGCONT) }
        let raised = try waitFor("the ALERT_RAISED entry", seen: { "\(entries())" }) {
            entries().first { $0["EVENT"] == "ALERT_RAISED" }
        }
        #expect(raised["PRIORITY"] == "2", "CRITICAL is crit: \(raised)")
        #expect(raised["MARKET"] == "ES" && raised["CONDITION"] == "HEARTBEAT_LOST" && raised["SEVERITY"] == "CRITICAL")
        #expect(raised["SYSLOG_IDENTIFIER"] == "watchdog")
        let id = try #require(raised["ALERT_ID"])
        #expect(raised["MESSAGE"]?.hasPrefix("ES: ALERT \(id) CRITICAL HEARTBEAT_LOST raised: ES: heartbeat lost") == true, "\(raised)")
        worker.signal(SIGCONT)
        let resolved = try waitFor("the ALERT_RESOLVED entry", seen: { "\(entries())" }) {
            entries().first { $0["EVENT"] == "ALERT_RESOLVED" }
        }
        #expect(resolved["ALERT_ID"] == id && resolved["PRIORITY"] == "5" && resolved["MARKET"] == "ES")
        #expect(entries().filter { $0["ALERT_ID"] != nil }.count == 2, "one entry per change: \(entries())")

        let posts = try waitFor("raised and resolved at the webhook", seen: { "\(receiver.received)" }) { () -> [JSONObject]? in
            let r = receiver.received
            return r.count >= 2 ? r : nil
        }
        #expect(posts.map { $0["status"]?.stringValue } == ["firing", "resolved"])
        #expect(posts.allSatisfy { $0["alert"]?.objectValue?["alert_id"]?.stringValue == id && $0["version"]?.intValue == 1 })
        #expect(posts[1]["alert"]?.objectValue?["resolved_at_utc"]?.stringValue != nil)
        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0)
        #expect(receiver.received.count == 2, "each notice once: \(receiver.received)")
    }

    @Test func theQueueSurvivesAWatchdogRestartWhileTheReceiverIsDownAndDeliversOnceItIsUp() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let port = try MetricsProbe.freePort()
        let metricsPort = try MetricsProbe.freePort()
        let config = violating(
            #"{"webhook_url": "http://127.0.0.1:\#(port)/hook", "retry_initial_seconds": 0.1, "retry_max_seconds": 0.3, "queue_capacity": 5}"#
        )
        .withMetrics(watchdogPort: metricsPort)
        try home.writeConfig(config)
        let watchdog = try home.startWatchdog()
        try home.start("robot-worker", ["--market", "ES"])
        let alert = try waitFor("the identity alert") {
            home.quickStatus()?.markets["ES"]?.alerts.first { $0.condition == "IDENTITY_VIOLATION" }
        }
        let queueFile = home.stateDir + "/watchdog/alert-queue-webhook.json"
        func queued() -> [String] {
            guard let data = FileManager.default.contents(atPath: queueFile), let doc = try? JSONParser.parse(Array(data)).objectValue,
                case .array(let notices)? = doc["notices"]
            else { return [] }
            return notices.compactMap { n in
                n.objectValue.flatMap { o in
                    o["alert"]?.objectValue?["alert_id"]?.stringValue.map { "\($0)/\(o["status"]?.stringValue ?? "?")" }
                }
            }
        }
        try waitFor("the notice in the queue file", seen: { "\(queued())" }) { queued() == ["\(alert.alertId)/firing"] ? true : nil }
        try waitFor("a failed attempt logged", seen: { watchdog.stderr }) {
            watchdog.stderr.contains("webhook: cannot deliver alerts to http://127.0.0.1:\(port)/hook") ? true : nil
        }
        let webhook = ["sink": "webhook"]
        try MetricsProbe.waitForScrape(port: metricsPort, "a queued notice and failed attempts in the metrics") { e in
            e.value("robot_alert_queue_length", webhook) == 1 && (e.value("robot_alert_notices_failed_total", webhook) ?? 0) >= 2
                && e.value("robot_alert_notices_sent_total", webhook) == 0 && e.value("robot_alert_notices_dropped_total", webhook) == 0
                ? true : nil
        }
        watchdog.signal(SIGTERM)
        #expect(try watchdog.waitForExit() == 0, "\(watchdog.stderr)")
        #expect(queued() == ["\(alert.alertId)/firing"], "still queued after the stop")

        let receiver = try WebhookReceiver(port: port)
        defer { receiver.stop() }
        let restarted = try home.startWatchdog()
        try waitFor("the queued notice delivered", seen: { "\(receiver.received)" }) { receiver.received.isEmpty ? nil : true }
        try waitFor("the queue file emptied", seen: { "\(queued())" }) { queued().isEmpty ? true : nil }
        #expect(restarted.stderr.contains("1 alert notice(s) queued by the previous run"), "\(restarted.stderr)")
        try MetricsProbe.waitForScrape(port: metricsPort, "the delivery in the metrics") { e in
            e.value("robot_alert_queue_length", webhook) == 0 && e.value("robot_alert_notices_sent_total", webhook) == 1 ? true : nil
        }
        let got = receiver.received
        #expect(got.count == 1, "delivered once, not announced again by the restart: \(got)")
        #expect(got.first?["status"]?.stringValue == "firing")
        #expect(got.first?["alert"]?.objectValue?["alert_id"]?.stringValue == alert.alertId)
    }
}
