import Foundation
import RobotConfig
import Testing
import Wire

@testable import WatchdogCore

/// What the watchdog tells people about alerts, without processes: which alerts were raised and
/// resolved (`AlertChanges`), the bounded de-duplicating queue with backoff (`AlertOutbox`), the
/// journal entry's level and fields, and the JSON posted to the Alertmanager and a webhook.
@Suite struct AlertDeliveryTests {
    static let start = WatchdogInstant(monotonicNanos: 1_000_000_000_000, wallMicros: 1_795_000_000_000_000)
    static let policy = HeartbeatPolicy(lateSeconds: 0.4, lostSeconds: 1)

    func heartbeat(_ market: String = "ES", run: String = "ES-run-a") -> Event {
        Event(
            type: EventType.heartbeat.rawValue, market: market, runID: run, pid: 4242, fence: 1, seq: nil,
            ts: "2026-11-21T07:15:01.000000Z",
            data: ["mode": "AGGRESSIVE"])
    }

    func event(_ seq: Int64, run: String = "ES-run-a") -> Event {
        Event(
            type: EventType.lockAcquired.rawValue, market: "ES", runID: run, pid: 4242, fence: 1, seq: seq,
            ts: "2026-11-21T07:15:01.000000Z", data: [:])
    }

    func alert(_ id: String, _ condition: Alert.Condition = .heartbeatLost, severity: Alert.Severity = .critical) -> Alert {
        Alert(
            alertID: id, market: "ES", condition: condition, timestamp: "2026-11-21T07:15:01.000000Z", severity: severity, title: "ES: t",
            message: "m", rootCause: "r", recommendedAction: "a", metadata: [:], acknowledged: false, occurrences: 1, resolvedAtUTC: nil)
    }

    @Test func aLostHeartbeatIsRaisedOnceAndResolvedOnceWhenItComesBack() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(heartbeat(), now: Self.start)
        var changes = AlertChanges(state)
        #expect(changes.notices(state).isEmpty)
        state.tick(now: Self.start.adding(seconds: 1.5), policy: Self.policy)
        let raised = changes.notices(state)
        #expect(raised.map(\.status) == [.firing])
        #expect(raised.first?.alert.condition == .heartbeatLost && raised.first?.alert.alertID == "ES-1")
        state.tick(now: Self.start.adding(seconds: 2), policy: Self.policy)
        #expect(changes.notices(state).isEmpty, "still lost: nothing new")
        state.apply(heartbeat(), now: Self.start.adding(seconds: 2.1))
        let resolved = changes.notices(state)
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.alert.alertID == "ES-1" && resolved.first?.alert.resolvedAtUTC != nil)
        #expect(changes.open.isEmpty)
    }

    @Test func anIncidentClosedByAcknowledgementIsResolvedAndAGapRaisesAWarning() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        var changes = AlertChanges(state)
        state.apply(event(1), now: Self.start)
        state.apply(event(5), now: Self.start)
        let gap = changes.notices(state)
        #expect(gap.map(\.alert.condition) == [.sequenceGap] && gap.first?.alert.severity == .warning)
        _ = state.acknowledge(market: "ES", alertID: nil, now: Self.start.adding(seconds: 1))
        #expect(changes.notices(state).map(\.status) == [.resolved])
    }

    @Test func anAlertRaisedWhileItsMarketIsLostIsAnnouncedOnceAndNotAgainWhenItIsShown() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(heartbeat(), now: Self.start)
        state.apply(event(1), now: Self.start)
        var changes = AlertChanges(state)
        state.tick(now: Self.start.adding(seconds: 1.5), policy: Self.policy)
        #expect(changes.notices(state).map(\.alert.condition) == [.heartbeatLost])
        state.apply(event(4), now: Self.start.adding(seconds: 1.6))
        #expect(state.markets["ES"]?.inhibitedAlerts.count == 1, "held back in status while LOST")
        #expect(changes.notices(state).map(\.alert.condition) == [.sequenceGap], "but announced: a real condition")
        state.apply(heartbeat(), now: Self.start.adding(seconds: 1.7))
        let back = changes.notices(state)
        #expect(back.map(\.status) == [.resolved] && back.first?.alert.condition == .heartbeatLost, "\(back)")
        #expect(state.markets["ES"]?.alerts.count == 1 && changes.open.count == 1)
    }

    @Test func aRestartedWatchdogDoesNotAnnounceAgainWhatItsStateHolds() {
        var state = WatchdogState(configuredMarkets: ["ES"], now: Self.start)
        state.apply(event(1), now: Self.start)
        state.apply(event(3), now: Self.start)
        var changes = AlertChanges(state)
        #expect(changes.open.count == 1)
        #expect(changes.notices(state).isEmpty)
    }

    @Test func theQueueDeDuplicatesByAlertAndStatusKeepsOrderAndDropsTheOldestWhenFull() {
        var box = AlertOutbox(capacity: 3)
        #expect(box.add(AlertNotice(status: .firing, alert: alert("ES-1"))) == 0)
        var again = alert("ES-1")
        again.message = "newer"
        #expect(box.add(AlertNotice(status: .firing, alert: again)) == 0)
        #expect(box.count == 1 && box.notices.first?.alert.message == "newer", "one notice per alert and status")
        box.add(AlertNotice(status: .resolved, alert: alert("ES-1")))
        box.add(AlertNotice(status: .firing, alert: alert("ES-2")))
        #expect(box.notices.map(\.key) == ["ES-1/firing", "ES-1/resolved", "ES-2/firing"])
        #expect(box.add(AlertNotice(status: .firing, alert: alert("ES-3"))) == 1)
        #expect(box.dropped == 1)
        #expect(box.notices.map(\.key) == ["ES-1/resolved", "ES-2/firing", "ES-3/firing"], "the oldest went")
    }

    @Test func failuresBackOffDoublingUpToTheMaximumAndASuccessResetsIt() {
        var box = AlertOutbox(capacity: 10, notices: [AlertNotice(status: .firing, alert: alert("ES-1"))])
        let t0: Int64 = 5_000_000_000
        #expect(box.due(now: t0, limit: 1).count == 1)
        #expect(box.failed(now: t0, retryInitial: 1, retryMax: 5) == 1)
        #expect(box.due(now: t0 + 999_000_000, limit: 1).isEmpty)
        #expect(box.due(now: t0 + 1_000_000_000, limit: 1).count == 1)
        #expect(box.failed(now: t0, retryInitial: 1, retryMax: 5) == 2)
        #expect(box.failed(now: t0, retryInitial: 1, retryMax: 5) == 4)
        #expect(box.failed(now: t0, retryInitial: 1, retryMax: 5) == 5)
        #expect(AlertOutbox.backoff(failures: 80, initial: 1, max: 300) == 300)
        let batch = box.due(now: t0 + 5_000_000_000, limit: 8)
        box.add(AlertNotice(status: .firing, alert: alert("ES-2")))
        box.delivered(batch)
        #expect(box.notices.map(\.key) == ["ES-2/firing"] && box.failures == 0 && box.due(now: 0, limit: 1).count == 1)
    }

    @Test func aNoticeReplacedWhileInFlightStaysForItsOwnDelivery() {
        var box = AlertOutbox(capacity: 10, notices: [AlertNotice(status: .firing, alert: alert("ES-1"))])
        let batch = box.due(now: 0, limit: 1)
        var newer = alert("ES-1")
        newer.occurrences = 2
        box.add(AlertNotice(status: .firing, alert: newer))
        box.delivered(batch)
        #expect(box.notices.first?.alert.occurrences == 2)
    }

    @Test func theJournalEntryHasThePriorityOfItsSeverityAndTheAlertsFields() {
        #expect(AlertJournal.level(AlertNotice(status: .firing, alert: alert("ES-1"))) == .critical)
        #expect(AlertJournal.level(AlertNotice(status: .firing, alert: alert("ES-2", .sequenceGap, severity: .warning))) == .warning)
        #expect(AlertJournal.level(AlertNotice(status: .resolved, alert: alert("ES-1"))) == .notice)
        let fields = AlertJournal.metadata(AlertNotice(status: .firing, alert: alert("ES-1")))
        #expect(fields["market"] == "ES" && fields["alert_id"] == "ES-1" && fields["condition"] == "HEARTBEAT_LOST")
        #expect(fields["severity"] == "CRITICAL" && fields["event"] == "ALERT_RAISED")
        #expect(
            AlertJournal.message(AlertNotice(status: .firing, alert: alert("ES-1"))).hasPrefix(
                "ES: ALERT ES-1 CRITICAL HEARTBEAT_LOST raised: "))
    }

    @Test func theAlertmanagerGetsLabelsAnnotationsAndEndsAtOnlyWhenResolved() throws {
        let url = HTTPURL(host: "127.0.0.1", port: 9093, path: "/")
        let sink = AlertSink.alertmanager(url)
        #expect(sink.target.description == "http://127.0.0.1:9093/api/v2/alerts")
        var resolved = alert("ES-1")
        resolved.resolvedAtUTC = "2026-11-21T07:16:00.000000Z"
        let body = sink.body(
            [AlertNotice(status: .firing, alert: alert("ES-2")), AlertNotice(status: .resolved, alert: resolved)], instance: "h1")
        let posted = try JSONDecoder().decode([AlertmanagerAlert].self, from: Data(body))
        #expect(posted.count == 2)
        #expect(
            posted[0].labels == [
                "alertname": "HEARTBEAT_LOST", "market": "ES", "alert_id": "ES-2", "severity": "critical", "instance": "h1",
                "source": "robot-watchdog",
            ])
        #expect(posted[0].annotations["summary"] == "ES: t" && posted[0].annotations["recommended_action"] == "a")
        #expect(posted[0].startsAt == "2026-11-21T07:15:01.000000Z" && posted[0].endsAt == nil)
        #expect(posted[1].endsAt == "2026-11-21T07:16:00.000000Z")
        #expect(!String(decoding: body, as: UTF8.self).contains("endsAt\":null"))
    }

    @Test func theWebhookGetsOneDocumentPerNoticeWithTheWholeAlert() throws {
        let sink = AlertSink.webhook(HTTPURL(host: "127.0.0.1", port: 8080, path: "/hook"))
        #expect(sink.batchLimit == 1 && sink.target.description == "http://127.0.0.1:8080/hook")
        let body = sink.body([AlertNotice(status: .firing, alert: alert("ES-1"))], instance: "h1")
        let doc = try #require(try JSONParser.parse(body).objectValue)
        #expect(doc["version"]?.intValue == 1 && doc["status"]?.stringValue == "firing" && doc["instance"]?.stringValue == "h1")
        #expect(doc["alert"]?.objectValue?["alert_id"]?.stringValue == "ES-1")
        #expect(doc["alert"]?.objectValue?["recommended_action"]?.stringValue == "a")
    }

    @Test func theQueueFileRoundTripsAndADamagedOneIsMovedAside() throws {
        let dir = NSTemporaryDirectory() + "alert-queue-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/watchdog", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = AlertQueueFile(stateDir: dir, sink: "webhook")
        #expect(file.load().notices.isEmpty && file.load().problem == nil)
        let notices = [AlertNotice(status: .firing, alert: alert("ES-1")), AlertNotice(status: .resolved, alert: alert("ES-1"))]
        try file.save(notices)
        #expect(file.load().notices == notices)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: file.path))
        let damaged = file.load()
        #expect(damaged.notices.isEmpty)
        #expect(damaged.problem?.contains(file.path) == true && damaged.problem?.contains(".damaged") == true, "\(damaged.problem ?? "-")")
        #expect(FileManager.default.fileExists(atPath: file.path + ".damaged"))
    }

    @Test func theStatusLineOfAnAnswerIsRead() {
        #expect(HTTPPost.statusCode(Array("HTTP/1.1 200 OK\r\n".utf8)) == 200)
        #expect(HTTPPost.statusCode(Array("HTTP/1.0 400 Bad Request\r\n".utf8)) == 400)
        #expect(HTTPPost.statusCode(Array("SSH-2.0-OpenSSH\r\n".utf8)) == nil)
        let request = String(
            decoding: HTTPPost.request(Array("{}".utf8), HTTPURL(host: "::1", port: 9093, path: "/api/v2/alerts")), as: UTF8.self)
        #expect(request.hasPrefix("POST /api/v2/alerts HTTP/1.1\r\nHost: [::1]:9093\r\n"))
        #expect(request.contains("Content-Length: 2\r\n") && request.hasSuffix("\r\n\r\n{}"))
    }
}
