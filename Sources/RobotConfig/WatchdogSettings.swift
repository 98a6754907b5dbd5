/// The `watchdog` section of the configuration (docs/CONFIG.md). Every key is optional; the
/// defaults are the documented ones.
public struct WatchdogSettings: Sendable, Equatable {
    /// A connection that sends no hello within this many seconds is closed (`hello_timeout`).
    public var helloTimeout: Double = 5
    /// Connections beyond this many are refused at once (`too_many_connections`).
    public var maxConnections: Int = 512
    /// How long applied events wait before the snapshot is written and acked (debounce).
    public var snapshotInterval: Double = 0.05

    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys = ["hello_timeout_seconds", "max_connections", "snapshot_interval_seconds"]

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> WatchdogSettings {
        guard var reader = try top.optionalObject("watchdog") else { return WatchdogSettings() }
        var settings = WatchdogSettings()
        settings.helloTimeout = try reader.number("hello_timeout_seconds", default: settings.helloTimeout, in: 0.01...3600)
        settings.maxConnections = try reader.integer("max_connections", default: settings.maxConnections, in: 1...65_536)
        settings.snapshotInterval = try reader.number("snapshot_interval_seconds", default: settings.snapshotInterval, in: 0...60)
        try reader.rejectUnknownKeys(keys)
        return settings
    }
}
