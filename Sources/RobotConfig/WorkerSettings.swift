/// The `worker` section of the configuration (docs/CONFIG.md). Every key is optional; the
/// defaults are the documented ones.
public struct WorkerSettings: Sendable, Equatable {
    /// The longest wait between two attempts to reach the watchdog (the backoff starts at 50 ms
    /// and doubles up to this).
    public var reconnectMax: Double = 2
    /// The journal is rotated past this size, once everything in it is acked.
    public var journalMaxBytes: Int = 64 << 20
    /// The journal is rotated when its first line is older than this, once everything in it is acked.
    public var journalMaxAge: Double = 7 * 86_400
    /// Past this many un-acked journal bytes (the watchdog is away or not acking) the worker holds
    /// OBSERVE_ONLY with one alert, until acks bring them under 90 % of it.
    public var journalMaxUnackedBytes: Int = 1 << 30

    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys = ["reconnect_max_seconds", "journal_max_bytes", "journal_max_age_seconds", "journal_max_unacked_bytes"]

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> WorkerSettings {
        guard var reader = try top.optionalObject("worker") else { return WorkerSettings() }
        var settings = WorkerSettings()
        settings.reconnectMax = try reader.number("reconnect_max_seconds", default: settings.reconnectMax, in: 0.05...3600)
        settings.journalMaxBytes = try reader.integer("journal_max_bytes", default: settings.journalMaxBytes, in: 4096...(1 << 40))
        settings.journalMaxAge = try reader.number("journal_max_age_seconds", default: settings.journalMaxAge, in: 1...(366 * 86_400))
        settings.journalMaxUnackedBytes = try reader.integer(
            "journal_max_unacked_bytes", default: settings.journalMaxUnackedBytes, in: 4096...(1 << 50))
        try reader.rejectUnknownKeys(keys)
        return settings
    }
}
