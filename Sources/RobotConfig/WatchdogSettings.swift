/// The `watchdog` section of the configuration (docs/CONFIG.md). Every key is optional; the
/// defaults are the documented ones.
public struct WatchdogSettings: Sendable, Equatable {
    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys: [String] = []

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> WatchdogSettings {
        guard let reader = try top.optionalObject("watchdog") else { return WatchdogSettings() }
        let settings = WatchdogSettings()
        try reader.rejectUnknownKeys(keys)
        return settings
    }
}
