import Foundation
import Testing
import Wire

/// The watchdog's /metrics against what it did (issue 7): events ingested equal its own applied
/// count, rejections are counted by reason, the markets' state shows, and a worker's unacked
/// events fall to 0 once the watchdog acks them.
@Suite struct WatchdogMetricsTests {
    @Test func theWatchdogsNumbersMatchItsStateAndAckedEventsLeaveTheWorkersOutbox() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        let watchdogPort = try MetricsProbe.freePort()
        let workerPort = try MetricsProbe.freePort()
        try home.writeConfig(TestConfig().withMetrics(watchdogPort: watchdogPort, workerPorts: ["ES": workerPort]))
        try home.startWatchdog()
        let worker = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("the watchdog to show ES held") { home.quickStatus()?.markets["ES"]?.lock?.pid == worker.pid ? true : nil }
        // A hostile line the watchdog must count under its reason.
        let hostile = try LineClient(path: home.watchdogSocket)
        try hostile.send(Array("not json".utf8))
        _ = try? hostile.readLine(timeoutSeconds: 2)

        let scraped = try MetricsProbe.waitForScrape(port: watchdogPort, "the watchdog's metrics to catch up with its state") {
            exposition -> Exposition? in
            guard let status = home.quickStatus(), let es = status.markets["ES"],
                exposition.value("robot_events_ingested_total", ["market": "ES"]) == Double(es.counters.events),
                exposition.value("robot_events_rejected_total", ["reason": "bad_hello", "market": "unknown"]) == 1
            else { return nil }
            return exposition
        }
        #expect(scraped.value("robot_heartbeat_state", ["market": "ES"]) == 0)
        #expect(scraped.value("robot_identity_pass", ["market": "ES"]) == 1)
        #expect(scraped.value("robot_fence", ["market": "ES"]) == 1)
        #expect(scraped.value("robot_mode", ["market": "ES", "mode": "AGGRESSIVE"]) == 1)
        #expect(scraped.value("robot_failsafe_latched", ["market": "ES"]) == 0)
        let heartbeat = try #require(scraped.value("robot_last_heartbeat_timestamp_seconds", ["market": "ES"]))
        #expect(abs(Date().timeIntervalSince1970 - heartbeat) < 30, "a Unix timestamp")
        #expect(scraped.families["robot_events_ingested"] == "counter", "prometheus_client names a counter family without _total")

        // The worker's outbox empties as acks arrive.
        try MetricsProbe.waitForScrape(port: workerPort, "the worker's unacked events to reach 0") { e -> Bool? in
            e.value("robot_unacked_events", ["market": "ES"]) == 0 ? true : nil
        }
    }
}
