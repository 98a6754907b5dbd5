import Foundation
import Guard
import Platform
import RobotConfig
import TestSupport
import Testing

@Suite("Default configuration")
struct DefaultConfigurationTests {
    @Test("the embedded default parses and configures ES, NQ and CL with their micro execution instruments")
    func embeddedDefault() throws {
        let config = try ConfigLoader.parse(
            Array(DefaultConfiguration.text.utf8), source: DefaultConfiguration.name, home: "/srv/robot")
        #expect(config.source == DefaultConfiguration.name)
        #expect(config.home == "/srv/robot")
        let expected: [(market: String, execution: String, streams: [String])] = [
            ("ES", "MES", ["ES1", "ES2"]), ("NQ", "MNQ", ["NQ1", "NQ2"]), ("CL", "MCL", ["CL1"]),
        ]
        for (market, execution, streams) in expected {
            let spec = try #require(config.markets[market], "\(market) is not configured")
            #expect(spec.canonical == market)
            #expect(spec.execution == execution)
            #expect(spec.streams.map(\.id) == streams)
            #expect(spec.streams.allSatisfy { $0.instrument == market })
            #expect(try config.instrumentMap.canonical(of: execution).name == market)
        }
        #expect(config.instrumentMap.executionToCanonical["MYM"] == "YM")
        #expect(config.instrumentMap.executionToCanonical["M2K"] == "RTY")
        #expect(config.instrumentMap.executionToCanonical["MGC"] == "GC")
        #expect(config.timings.heartbeatInterval == 30)
        #expect(config.timings.invariantsInterval == 60)
        #expect(config.timings.heartbeatLateIntervals == 2)
        #expect(config.timings.heartbeatLost == 120)
        #expect(config.paths.lockDir == "/srv/robot/runtime_locks")
        #expect(config.paths.stateDir == "/srv/robot/state")
        #expect(config.paths.socketDir == "/srv/robot/run")
        #expect(config.account == .default)
        #expect(config.account.name == "default")
        #expect(!config.paths.allowNetworkLockDir)
    }

    @Test("config/robot.json is byte for byte the embedded default")
    func repositoryFileMatches() throws {
        let root = try repositoryRoot()
        let file = try Data(contentsOf: URL(fileURLWithPath: root + "/config/robot.json"))
        let embedded = Data(DefaultConfiguration.text.utf8)
        #expect(file.count == embedded.count)
        #expect(file == embedded)
    }
}

@Suite("Paths")
struct PathTests {
    @Test("relative paths resolve against the home, and each file has its place")
    func relativePaths() throws {
        let config = try parseConfig(config(), home: "/srv/robot")
        let paths = config.paths
        #expect(paths.lockDir == "/srv/robot/runtime_locks")
        #expect(FlockMarketGuard(folder: paths.lockDir).lockFile(market("ES")) == "/srv/robot/runtime_locks/canonical_ES.lock")
        #expect(FlockMarketGuard(folder: paths.lockDir).lockFile(market("ES")).hasSuffix("runtime_locks/canonical_ES.lock"))
        #expect(FlockMarketGuard(folder: paths.lockDir).fenceFile(market("ES")) == "/srv/robot/runtime_locks/canonical_ES.fence")
        #expect(paths.marketStateDir(market("NQ")) == "/srv/robot/state/NQ")
        #expect(paths.journal(market("NQ")) == "/srv/robot/state/NQ/events.ndjson")
        #expect(paths.watchdogSocket == "/srv/robot/run/watchdog.sock")
    }

    @Test("absolute paths stay; relative ones are normalised under the home")
    func absoluteAndNormalised() throws {
        let config = try parseConfig(
            config(paths: #"{"lock_dir":"/var/lib/robot/locks/","state_dir":"./data/../state2//x/.","socket_dir":"sock"}"#),
            home: "/srv/robot")
        #expect(config.paths.lockDir == "/var/lib/robot/locks")
        #expect(FlockMarketGuard(folder: config.paths.lockDir).lockFile(market("CL")) == "/var/lib/robot/locks/canonical_CL.lock")
        #expect(config.paths.stateDir == "/srv/robot/state2/x")
        #expect(config.paths.socketDir == "/srv/robot/sock")
    }

    @Test("a socket folder too long for a Unix socket path is refused")
    func socketTooLong() throws {
        let long = "/" + String(repeating: "s", count: 90)
        let error = try #require(configError(config(paths: #"{"socket_dir":""# + long + #""}"#)))
        #expect(error.key == "paths.socket_dir")
        #expect(error.value == "\"\(long)\"")
        #expect(error.expected.contains("too long for a Unix socket path"))
    }

    @Test("a socket folder of 78 bytes holds every socket, the longest a 16-letter market's worker-M.sock; 79 is refused")
    func socketFolderBoundary() throws {
        let fits = "/" + String(repeating: "s", count: 77)
        #expect(configError(config(paths: #"{"socket_dir":""# + fits + #""}"#)) == nil)
        #expect(UnixSocket.maxPathBytes == 107)
        let paths = try ConfigLoader.parse(Array(config(paths: #"{"socket_dir":""# + fits + #""}"#).utf8), source: "t", home: "/srv").paths
        #expect(paths.workerSocket(market("ABCDEFGHIJKLMNOP")).utf8.count == UnixSocket.maxPathBytes)
        let error = try #require(configError(config(paths: #"{"socket_dir":""# + fits + #"s"}"#)))
        #expect(error.key == "paths.socket_dir")
        #expect(error.expected.contains("at most 78 bytes"))
    }
}

@Suite("ConfigLoader.load")
struct ConfigLoaderTests {
    static let goldOnly = #"{"instrument_map":{"MGC":"GC"},"markets":{"GC":{"execution":"MGC","streams":{"GC1":{"instrument":"GC"}}}}}"#

    @Test("ROBOT_CONFIG names the file when no --config is given")
    func robotConfigEnvironment() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("custom.json", Self.goldOnly)
        let config = try ConfigLoader.load(configPath: nil, home: folder.path, environment: ["ROBOT_CONFIG": file])
        #expect(config.source == file)
        #expect(config.marketNames == ["GC"])
        #expect(config.home == folder.path)
        #expect(FlockMarketGuard(folder: config.paths.lockDir).lockFile(market("GC")) == folder.path + "/runtime_locks/canonical_GC.lock")
    }

    @Test("--config wins over ROBOT_CONFIG")
    func configPathWins() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let gold = try folder.write("gold.json", Self.goldOnly)
        let other = try folder.write("other.json", "not even JSON")
        let config = try ConfigLoader.load(configPath: gold, home: folder.path, environment: ["ROBOT_CONFIG": other])
        #expect(config.source == gold)
        #expect(config.marketNames == ["GC"])
    }

    @Test("with neither, the embedded default is used")
    func embeddedDefault() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // No installed file: the system one looked for under the (empty) test folder, not /etc.
        let none = ["ROBOT_SYSCONFDIR": folder.path]
        let config = try ConfigLoader.load(configPath: nil, home: folder.path, environment: none)
        #expect(config.source == DefaultConfiguration.name)
        #expect(config.marketNames == ["CL", "ES", "NQ"])
        let empty = try ConfigLoader.load(
            configPath: nil, home: folder.path, environment: ["ROBOT_CONFIG": "", "ROBOT_SYSCONFDIR": folder.path])
        #expect(empty.source == DefaultConfiguration.name)
    }

    @Test("an error in the file names the file as given")
    func errorNamesFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("bad.json", #"{"markets":{}}"#)
        do {
            _ = try ConfigLoader.load(configPath: nil, home: folder.path, environment: ["ROBOT_CONFIG": file])
            Issue.record("an empty markets object was accepted")
        } catch {
            #expect(error.file == file)
            #expect(error.key == "markets")
            #expect(error.expected == "expected at least one market")
        }
        let missing = folder.path + "/missing.json"
        do {
            _ = try ConfigLoader.load(configPath: missing, home: folder.path, environment: [:])
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.file == missing)
            #expect(error.expected == "cannot open: No such file or directory")
        }
    }

    @Test("a --home that does not exist, or is a file, is an error")
    func missingHome() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let nowhere = folder.path + "/nowhere"
        do {
            _ = try ConfigLoader.load(configPath: nil, home: nowhere, environment: [:])
            Issue.record("a missing home was accepted")
        } catch {
            #expect(error.file == nowhere)
            #expect(error.expected == "the home folder does not exist or is not a folder")
        }
        let file = try folder.write("plain", "x")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(configPath: nil, home: file, environment: [:]) }
        #expect(throws: ConfigError.self) { try ConfigLoader.load(configPath: nil, home: nil, environment: ["ROBOT_HOME": nowhere]) }
    }

    @Test("ROBOT_HOME is the home when --home is not given; --home wins over it")
    func robotHomeEnvironment() throws {
        let first = try TemporaryFolder()
        defer { first.remove() }
        let second = try TemporaryFolder()
        defer { second.remove() }
        let fromEnvironment = try ConfigLoader.load(
            configPath: nil, home: nil, environment: ["ROBOT_HOME": first.path, "ROBOT_SYSCONFDIR": first.path])
        #expect(fromEnvironment.home == first.path)
        #expect(fromEnvironment.paths.lockDir == first.path + "/runtime_locks")
        let fromOption = try ConfigLoader.load(
            configPath: nil, home: second.path, environment: ["ROBOT_HOME": first.path, "ROBOT_SYSCONFDIR": first.path])
        #expect(fromOption.home == second.path)
        #expect(fromOption.paths.stateDir == second.path + "/state")
    }
}

@Suite("InstrumentMap")
struct InstrumentMapTests {
    let map = InstrumentMap(["MES": "ES", "MNQ": "NQ"])

    @Test("execution instruments map to their canonical market; canonical ones to themselves")
    func canonical() throws {
        #expect(try map.canonical(of: "MES").name == "ES")
        #expect(try map.canonical(of: "mes").name == "ES")
        #expect(try map.canonical(of: "Mnq").name == "NQ")
        #expect(try map.canonical(of: "ES").name == "ES")
        #expect(try map.canonical(of: "es").name == "ES")
        #expect(try map.canonical(of: "CL").name == "CL")
        #expect(try map.canonical(of: "ABCDEFGHIJKLMNOP").name == "ABCDEFGHIJKLMNOP")
        #expect(try map.normalized("mes") == "MES")
        #expect(map.isExecutionOnly("MES"))
        #expect(!map.isExecutionOnly("ES"))
    }

    @Test(
        "names that could reach a path unchecked are refused",
        arguments: [
            "ES/../x", "", "ABCDEFGHIJKLMNOPQ", "1ES", "_ES", "E S", "ES\n", "../ES", "ES.lock", "E\u{0}S", "ÉS",
            // Unicode case mapping must not turn these into ASCII instruments (MES, SS, MIS, FF).
            "meſ", "ß", "mıs", "ﬀ",
        ])
    func invalidCharacters(_ symbol: String) {
        #expect(throws: InstrumentMap.Failure.invalidCharacters(symbol)) { try map.canonical(of: symbol) }
        #expect(throws: InstrumentMap.Failure.invalidCharacters(symbol)) { try map.normalized(symbol) }
    }

    @Test("the failure names the symbol")
    func failureDescription() {
        #expect(
            InstrumentMap.Failure.invalidCharacters("ES/../x").description
                == "\"ES/../x\" is not an instrument: expected 1 to 16 letters, digits or '_', starting with a letter")
    }
}
