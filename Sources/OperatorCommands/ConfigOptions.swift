import ArgumentParser
import RobotConfig

/// `--config` and `--home`, the options every command of the three programs takes to find the
/// configuration (`ConfigLoader`: `--config`, `$ROBOT_CONFIG`, the installed file, the embedded
/// default).
public struct ConfigOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The configuration file (default: $ROBOT_CONFIG, else the installed ~/.config/robot/robot.json or /etc/robot/robot.json, else the embedded default).",
            valueName: "file"))
    public var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The folder relative paths resolve against (default: $ROBOT_HOME, else the current folder).", valueName: "dir"))
    public var home: String?

    public init() {}

    public var location: ConfigLocation {
        ConfigLocation(configPath: config, home: home, environment: ProcessInfoEnvironment.current())
    }
}
