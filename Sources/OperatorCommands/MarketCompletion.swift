import ArgumentParser
import RobotConfig

/// Shell completion of market names: the configured markets (and `all` where it is accepted), read
/// from the configuration the command would use (`--config`/`--home` on the line being completed,
/// else `$ROBOT_CONFIG`, the installed file, the embedded default). Cheap: one small file read.
public enum MarketCompletion {
    public static let markets = CompletionKind.custom { words, _, prefix in names(words, prefix: prefix, all: false) }
    public static let marketsOrAll = CompletionKind.custom { words, _, prefix in names(words, prefix: prefix, all: true) }

    static func names(_ words: [String], prefix: String, all: Bool) -> [String] {
        func value(_ option: String) -> String? {
            guard let i = words.firstIndex(of: option), i + 1 < words.count else { return nil }
            return words[i + 1]
        }
        let location = ConfigLocation(configPath: value("--config"), home: nil, environment: ProcessInfoEnvironment.current())
        guard let config = try? location.load() else { return all ? ["all"] : [] }
        let upper = prefix.uppercased()
        return (config.marketNames + (all ? ["all"] : [])).filter { prefix.isEmpty || $0.uppercased().hasPrefix(upper) }
    }
}
