import Foundation
import TestSupport
import Testing

@testable import RobotConfig

/// The lookup order: `--config`, `$ROBOT_CONFIG`, the user install's file, the system install's
/// file (`$ROBOT_SYSCONFDIR/robot/robot.json`, here a test folder, never the real /etc), the
/// embedded default.
@Suite("Installed configuration lookup")
struct InstalledConfigurationTests {
    static func config(_ market: String) -> String {
        #"{"markets":{"\#(market)":{"execution":"","streams":{"\#(market)1":{"instrument":"\#(market)"}}}}}"#
    }

    @Test("the candidates: XDG_CONFIG_HOME (else HOME/.config), then ROBOT_SYSCONFDIR (else /etc)")
    func candidates() {
        #expect(InstalledConfiguration.candidates(environment: [:]) == ["/etc/robot/robot.json"])
        #expect(
            InstalledConfiguration.candidates(environment: ["HOME": "/home/op"]) == [
                "/home/op/.config/robot/robot.json", "/etc/robot/robot.json",
            ])
        #expect(
            InstalledConfiguration.candidates(environment: ["HOME": "/home/op", "XDG_CONFIG_HOME": "/x", "ROBOT_SYSCONFDIR": "/opt/etc"])
                == ["/x/robot/robot.json", "/opt/etc/robot/robot.json"])
        #expect(InstalledConfiguration.candidates(environment: ["HOME": "relative", "ROBOT_SYSCONFDIR": ""]) == ["/etc/robot/robot.json"])
    }

    @Test("each source wins over the ones after it, and a missing one is skipped")
    func order() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sysconf = folder.path + "/etc"
        let xdg = folder.path + "/xdg"
        try FileManager.default.createDirectory(atPath: sysconf + "/robot", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: xdg + "/robot", withIntermediateDirectories: true)
        let env = ["ROBOT_SYSCONFDIR": sysconf, "XDG_CONFIG_HOME": xdg]
        func source(_ configPath: String?, _ extra: [String: String] = [:]) throws -> (String, [String]) {
            let c = try ConfigLoader.load(configPath: configPath, home: folder.path, environment: env.merging(extra) { $1 })
            return (c.source, c.marketNames)
        }
        // Nothing installed: the embedded default.
        #expect(try source(nil).0 == DefaultConfiguration.name)
        // The system install.
        try Self.config("GC").write(toFile: sysconf + "/robot/robot.json", atomically: true, encoding: .utf8)
        #expect(try source(nil) == (sysconf + "/robot/robot.json", ["GC"]))
        // The user install wins over it.
        try Self.config("CL").write(toFile: xdg + "/robot/robot.json", atomically: true, encoding: .utf8)
        #expect(try source(nil) == (xdg + "/robot/robot.json", ["CL"]))
        // $ROBOT_CONFIG wins over both, --config over everything.
        let env1 = try folder.write("env.json", Self.config("NQ"))
        let opt = try folder.write("opt.json", Self.config("ZB"))
        #expect(try source(nil, ["ROBOT_CONFIG": env1]) == (env1, ["NQ"]))
        #expect(try source(opt, ["ROBOT_CONFIG": env1]) == (opt, ["ZB"]))
    }

    @Test("an installed file that is invalid is an error naming it, never a fall back to the next")
    func invalidInstalledFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path + "/robot", withIntermediateDirectories: true)
        let path = folder.path + "/robot/robot.json"
        try #"{"markets":{}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(configPath: nil, home: folder.path, environment: ["ROBOT_SYSCONFDIR": folder.path])
            Issue.record("an invalid installed configuration was accepted")
        } catch {
            #expect(error.file == path)
            #expect(error.key == "markets")
        }
    }
}

@Suite("MarketSelection")
struct MarketSelectionTests {
    let map = InstrumentMap(["MES": "ES", "MNQ": "NQ"])
    let known = ["NQ", "ES", "CL"]

    @Test("no names or all: every market, sorted")
    func all() throws {
        #expect(try MarketSelection.resolve([], map: map, known: known) == ["CL", "ES", "NQ"])
        #expect(try MarketSelection.resolve(["all"], map: map, known: known) == ["CL", "ES", "NQ"])
    }

    @Test("names canonicalised as the supervisor does, duplicates dropped, order kept")
    func canonical() throws {
        #expect(try MarketSelection.resolve(["mnq", "es", "MES", "ES"], map: map, known: known) == ["NQ", "ES"])
    }

    @Test("an unknown name is refused with the known list")
    func unknown() {
        #expect(throws: MarketSelection.Refusal(unknown: ["ZB", "b@d"], known: ["CL", "ES", "NQ"])) {
            try MarketSelection.resolve(["es", "ZB", "b@d"], map: map, known: known)
        }
        let refusal = MarketSelection.Refusal(unknown: ["ZB"], known: ["CL", "ES"])
        #expect(refusal.description == "unknown market ZB; configured: CL, ES")
        #expect(throws: MarketSelection.Refusal.self) { try MarketSelection.resolve(["all", "ES"], map: map, known: known) }
    }
}
