/// The `worker` section of the configuration (docs/CONFIG.md). Every key is optional; the
/// defaults are the documented ones.
public struct WorkerSettings: Sendable, Equatable {
    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys: [String] = []

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> WorkerSettings {
        guard let reader = try top.optionalObject("worker") else { return WorkerSettings() }
        let settings = WorkerSettings()
        try reader.rejectUnknownKeys(keys)
        return settings
    }
}
