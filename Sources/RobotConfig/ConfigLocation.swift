/// Where a program finds its configuration: `--config` and `--home` as given on its command line,
/// and the environment (`ROBOT_CONFIG`, `ROBOT_HOME`, and whatever the program reads besides).
/// Every executable takes the same two options, so each one's options are this.
public struct ConfigLocation: Sendable {
    public var configPath: String?
    public var home: String?
    public var environment: [String: String]

    public init(configPath: String?, home: String?, environment: [String: String]) {
        self.configPath = configPath
        self.home = home
        self.environment = environment
    }

    /// Loads and validates the configuration (`ConfigLoader.load`); called again on a reload.
    public func load() throws(ConfigError) -> Configuration {
        try ConfigLoader.load(configPath: configPath, home: home, environment: environment)
    }
}
