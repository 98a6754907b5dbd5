import Logging

/// Writes each raised and resolved alert as one log entry, so it reaches a person through the
/// journal whatever else is configured: under systemd a structured entry whose `PRIORITY=` follows
/// the severity (CRITICAL 2, WARNING 4, INFO 6; a resolution 5), with `MARKET=`, `ALERT_ID=`,
/// `CONDITION=`, `SEVERITY=`, `EVENT=ALERT_RAISED|ALERT_RESOLVED` and a readable `MESSAGE=`
/// (`journalctl -p crit` lists the critical ones); elsewhere one stderr line.
enum AlertJournal {
    static func level(_ notice: AlertNotice) -> Logger.Level {
        guard notice.status == .firing else { return .notice }
        switch notice.alert.severity {
        case .critical: return .critical
        case .warning: return .warning
        case .info: return .info
        }
    }

    static func message(_ notice: AlertNotice) -> String {
        let a = notice.alert
        switch notice.status {
        case .firing:
            return "\(a.market): ALERT \(a.alertID) \(a.severity.rawValue) \(a.condition.rawValue) raised: \(a.title): \(a.message); "
                + "action: \(a.recommendedAction)"
        case .resolved:
            let how = a.condition.closesOnAcknowledgement ? "closed by acknowledgement" : "resolved"
            return
                "\(a.market): ALERT \(a.alertID) \(a.severity.rawValue) \(a.condition.rawValue) \(how) at \(a.resolvedAtUTC ?? "?"): \(a.title)"
        }
    }

    static func metadata(_ notice: AlertNotice) -> Logger.Metadata {
        let a = notice.alert
        return [
            "market": "\(a.market)", "alert_id": "\(a.alertID)", "condition": "\(a.condition.rawValue)",
            "severity": "\(a.severity.rawValue)",
            "event": "\(notice.status == .firing ? "ALERT_RAISED" : "ALERT_RESOLVED")",
        ]
    }

    static func write(_ notice: AlertNotice) {
        Diagnostics.logger.log(level: level(notice), "\(message(notice))", metadata: metadata(notice))
    }
}
