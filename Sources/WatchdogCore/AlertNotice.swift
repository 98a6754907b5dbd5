/// One alert's change to tell a person about: it was raised (`firing`) or it was resolved or
/// closed (`resolved`, with the alert's `resolved_at_utc`). What the journal entry, the
/// Alertmanager post and the webhook post are made of, and what the delivery queues hold.
public struct AlertNotice: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case firing, resolved }

    public var status: Status
    public var alert: Alert

    public init(status: Status, alert: Alert) {
        self.status = status
        self.alert = alert
    }

    /// One notice per alert and status: a queue holds a key once (a repeat replaces it).
    public var key: String { alert.alertID + "/" + status.rawValue }
}
