/// The `alerting` section: where the watchdog pushes the alerts it raises and resolves, besides
/// the journal entry every alert gets anyway (docs/CONFIG.md, docs/watchdog.md "Alerts reach a
/// person"). Absent, or neither address set: nothing is pushed.
///
/// ```json
/// "alerting": {"alertmanager_url": "http://127.0.0.1:9093", "webhook_url": "http://127.0.0.1:8080/robot",
///              "queue_capacity": 1000, "retry_initial_seconds": 1, "retry_max_seconds": 300,
///              "request_timeout_seconds": 5, "alertmanager_resend_seconds": 60}
/// ```
public struct AlertingSettings: Sendable, Equatable {
    /// The Alertmanager's base address; alerts go to `<it>/api/v2/alerts`.
    public var alertmanagerURL: HTTPURL?
    /// A generic receiver: one JSON POST per raised or resolved alert.
    public var webhookURL: HTTPURL?
    /// Notices kept per destination while it cannot be reached; the oldest go beyond it (counted).
    public var queueCapacity = 1000
    /// The first retry's delay; it doubles per failure up to `retryMax`.
    public var retryInitial: Double = 1
    public var retryMax: Double = 300
    /// One connection and request's time limit.
    public var requestTimeout: Double = 5
    /// Open alerts are posted to the Alertmanager again this often, so it keeps them active (it
    /// resolves an alert nobody repeats after its `resolve_timeout`, 5 minutes by default).
    public var alertmanagerResend: Double = 60

    public init() {}

    /// True when nothing is pushed.
    public var isOff: Bool { alertmanagerURL == nil && webhookURL == nil }

    static let keys = [
        "alertmanager_url", "webhook_url", "queue_capacity", "retry_initial_seconds", "retry_max_seconds", "request_timeout_seconds",
        "alertmanager_resend_seconds",
    ]

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> AlertingSettings {
        var s = AlertingSettings()
        guard var r = try top.optionalObject("alerting") else { return s }
        func url(_ key: String) throws(ConfigError) -> HTTPURL? {
            guard let v = r.optional(key) else { return nil }
            guard case .string(let text) = v else { throw r.error(key, v, "expected an http:// address as a string") }
            switch HTTPURL.parse(text) {
            case .success(let u): return u
            case .failure(let e): throw r.error(key, v, e.detail)
            }
        }
        s.alertmanagerURL = try url("alertmanager_url")
        s.webhookURL = try url("webhook_url")
        s.queueCapacity = try r.integer("queue_capacity", default: s.queueCapacity, in: 1...100_000)
        s.retryInitial = try r.number("retry_initial_seconds", default: s.retryInitial, in: 0.01...3600)
        s.retryMax = try r.number("retry_max_seconds", default: s.retryMax, in: 0.01...86_400)
        if s.retryMax < s.retryInitial {
            throw r.error(
                "retry_max_seconds", r.optional("retry_max_seconds"),
                "expected at least retry_initial_seconds (\(ConfigReader.format(s.retryInitial)))")
        }
        s.requestTimeout = try r.number("request_timeout_seconds", default: s.requestTimeout, in: 0.1...300)
        s.alertmanagerResend = try r.number("alertmanager_resend_seconds", default: s.alertmanagerResend, in: 0.1...3600)
        try r.rejectUnknownKeys(keys)
        return s
    }
}
