/// The `supervisor` section of the configuration (docs/CONFIG.md). Every key is optional; the
/// defaults are the documented ones.
public struct SupervisorSettings: Sendable, Equatable {
    public init() {}

    /// The keys this section accepts, for the unknown-key error.
    static let keys: [String] = []

    static func parse(_ top: inout ConfigReader) throws(ConfigError) -> SupervisorSettings {
        guard let reader = try top.optionalObject("supervisor") else { return SupervisorSettings() }
        let settings = SupervisorSettings()
        try reader.rejectUnknownKeys(keys)
        return settings
    }
}
