import Foundation
import RobotConfig

#if canImport(Glibc)
import Glibc
#endif

/// A destination the watchdog pushes alert notices to, and the JSON it posts there.
///
/// - `alertmanager`: Prometheus Alertmanager's API v2, `POST <base>/api/v2/alerts` with a list of
///   alerts. Labels `alertname` (the condition), `market`, `alert_id`, `severity` (lower case),
///   `instance` (this host) and `source="robot-watchdog"`; annotations `summary`, `description`,
///   `root_cause`, `recommended_action`; `startsAt` when raised, `endsAt` once resolved. The alert
///   ID is a label, so a re-post is the same alert to the Alertmanager (it de-duplicates on the
///   label set), and a condition raised again later is a new alert.
/// - `webhook`: one `POST` per notice of `{"version":1,"status":"firing"|"resolved","source":
///   "robot-watchdog","instance":...,"alert":{...}}`, the alert as `watchdog status --json` shows it.
///
/// Any 2xx answer is a delivery; anything else is retried.
enum AlertSink: Sendable, Equatable {
    case alertmanager(HTTPURL)
    case webhook(HTTPURL)

    /// `alertmanager` or `webhook`: the metrics' `sink` label and the queue file's name.
    var name: String {
        switch self {
        case .alertmanager: return "alertmanager"
        case .webhook: return "webhook"
        }
    }

    /// Where the posts go.
    var target: HTTPURL {
        switch self {
        case .alertmanager(let base): return base.appending("api/v2/alerts")
        case .webhook(let url): return url
        }
    }

    /// How many notices one post carries.
    var batchLimit: Int {
        switch self {
        case .alertmanager: return 64
        case .webhook: return 1
        }
    }

    /// The destinations `settings` names, Alertmanager first.
    static func configured(_ settings: AlertingSettings) -> [AlertSink] {
        var out: [AlertSink] = []
        if let u = settings.alertmanagerURL { out.append(.alertmanager(u)) }
        if let u = settings.webhookURL { out.append(.webhook(u)) }
        return out
    }

    /// The body of one post carrying `notices` (at most `batchLimit`).
    func body(_ notices: [AlertNotice], instance: String) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data?
        switch self {
        case .alertmanager:
            data = try? encoder.encode(notices.map { AlertmanagerAlert($0, instance: instance) })
        case .webhook:
            data = notices.first.flatMap {
                try? encoder.encode(WebhookNotice(status: $0.status.rawValue, instance: instance, alert: $0.alert))
            }
        }
        return Array(data ?? Data("[]".utf8))
    }

    /// This host's name, for the `instance` label.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One element of Alertmanager's `postableAlerts`.
struct AlertmanagerAlert: Codable, Equatable {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: String
    var endsAt: String?

    init(_ n: AlertNotice, instance: String) {
        let a = n.alert
        labels = [
            "alertname": a.condition.rawValue, "market": a.market, "alert_id": a.alertID, "severity": a.severity.rawValue.lowercased(),
            "instance": instance, "source": "robot-watchdog",
        ]
        annotations = [
            "summary": a.title, "description": a.message, "root_cause": a.rootCause, "recommended_action": a.recommendedAction,
        ]
        startsAt = a.timestamp
        endsAt = n.status == .resolved ? (a.resolvedAtUTC ?? a.timestamp) : nil
    }
}

/// The webhook's document.
struct WebhookNotice: Codable, Equatable {
    var version = 1
    var status: String
    var source = "robot-watchdog"
    var instance: String
    var alert: Alert

    init(status: String, instance: String, alert: Alert) {
        self.status = status
        self.instance = instance
        self.alert = alert
    }
}
