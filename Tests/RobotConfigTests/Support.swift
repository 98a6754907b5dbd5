import Foundation
import RobotConfig
import TestSupport
import Testing
import Wire

/// The repository root: the first folder above this file that holds Package.swift.
func repositoryRoot(from file: String = #filePath) throws -> String {
    var url = URL(fileURLWithPath: file).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        url.deleteLastPathComponent()
    }
    Issue.record("no Package.swift above \(file)")
    throw CocoaError(.fileNoSuchFile)
}

/// The error `ConfigLoader.parse` throws for `text`, or nil when the text is a valid configuration.
func configError(_ text: String, source: String = "test.json", home: String = "/srv/robot") -> ConfigError? {
    do {
        _ = try ConfigLoader.parse(Array(text.utf8), source: source, home: home)
        return nil
    } catch {
        return error
    }
}

func parseConfig(_ text: String, home: String = "/srv/robot") throws -> Configuration {
    try ConfigLoader.parse(Array(text.utf8), source: "test.json", home: home)
}

/// A small valid configuration; `markets`, `extra` and `timings` replace parts of it.
func config(
    markets: String = #"{"ES":{"execution":"MES","streams":{"ES1":{"instrument":"ES"}}}}"#,
    map: String = #"{"MES":"ES","MNQ":"NQ"}"#,
    timings: String? = nil,
    paths: String? = nil,
    extra: String = ""
) -> String {
    var text = #"{"instrument_map":"# + map + #","markets":"# + markets
    if let timings { text += #","timings":"# + timings }
    if let paths { text += #","paths":"# + paths }
    return text + extra + "}"
}

/// A canonical market the test names, valid by construction.
func market(_ name: String) -> CanonicalMarket {
    guard let market = CanonicalMarket(name) else { preconditionFailure("\(name) is not a canonical market") }
    return market
}
