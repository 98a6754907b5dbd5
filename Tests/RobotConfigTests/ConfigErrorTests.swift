import RobotConfig
import Testing

/// One invalid configuration and the error it must give.
struct BadConfig: Sendable, CustomStringConvertible {
    var name: String
    var text: String
    var key: String
    var value: String?
    var expected: String

    var description: String { name }
}

@Suite("Configuration errors")
struct ConfigErrorTests {
    /// Checks every part of the error, and that the printed line carries them all.
    func check(_ bad: BadConfig, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try #require(configError(bad.text), "\(bad.name): accepted", sourceLocation: sourceLocation)
        #expect(error.file == "test.json", sourceLocation: sourceLocation)
        #expect(error.key == bad.key, sourceLocation: sourceLocation)
        #expect(error.value == bad.value, sourceLocation: sourceLocation)
        #expect(error.expected.contains(bad.expected), "\(error.expected)", sourceLocation: sourceLocation)
        let description = error.description
        #expect(description.hasPrefix("test.json: "), sourceLocation: sourceLocation)
        if !bad.key.isEmpty { #expect(description.contains(": \(bad.key): "), sourceLocation: sourceLocation) }
        if let value = bad.value { #expect(description.contains(": \(value): "), sourceLocation: sourceLocation) }
        #expect(description.hasSuffix(error.expected), sourceLocation: sourceLocation)
    }

    static let unknownKeys: [BadConfig] = [
        BadConfig(
            name: "top level", text: config(extra: #","colour":"blue""#), key: "colour", value: nil,
            expected: "unknown key; expected one of: account, instrument_map, markets, timings, paths"),
        BadConfig(
            name: "inside a market",
            text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES1":{"instrument":"ES"}},"colour":1}}"#),
            key: "markets.ES.colour", value: nil, expected: "unknown key; expected one of: execution, streams"),
        BadConfig(
            name: "inside a stream",
            text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES1":{"instrument":"ES","colour":1}}}}"#),
            key: "markets.ES.streams.ES1.colour", value: nil, expected: "unknown key; expected one of: instrument"),
        BadConfig(
            name: "inside timings", text: config(timings: #"{"heartbeat_interval":30}"#), key: "timings.heartbeat_interval",
            value: nil, expected: "unknown key; expected one of: heartbeat_interval_seconds, invariants_interval_seconds"),
        BadConfig(
            name: "inside paths", text: config(paths: #"{"lock_folder":"x"}"#), key: "paths.lock_folder", value: nil,
            expected: "unknown key; expected one of: lock_dir, state_dir, socket_dir, allow_network_lock_dir"),
    ]

    @Test("an unknown key is named with its path", arguments: unknownKeys)
    func unknownKey(_ bad: BadConfig) throws { try check(bad) }

    static let wrongTypes: [BadConfig] = [
        BadConfig(name: "top level is an array", text: "[]", key: "", value: nil, expected: "expected a JSON object at the top"),
        BadConfig(name: "markets is an array", text: config(markets: "[]"), key: "markets", value: "[]", expected: "expected an object"),
        BadConfig(
            name: "a market is a string", text: config(markets: #"{"ES":"x"}"#), key: "markets.ES", value: "\"x\"",
            expected: "expected an object"),
        BadConfig(
            name: "execution is a number", text: config(markets: #"{"ES":{"execution":5,"streams":{"ES1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.execution", value: "5", expected: "expected a string"),
        BadConfig(
            name: "execution is missing", text: config(markets: #"{"ES":{"streams":{"ES1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.execution", value: nil, expected: "missing; expected a string"),
        BadConfig(
            name: "streams is an array", text: config(markets: #"{"ES":{"execution":"MES","streams":["ES1"]}}"#),
            key: "markets.ES.streams", value: #"["ES1"]"#, expected: "expected an object"),
        BadConfig(
            name: "streams is missing", text: config(markets: #"{"ES":{"execution":"MES"}}"#),
            key: "markets.ES.streams", value: nil, expected: "missing; expected an object"),
        BadConfig(
            name: "a stream is a string", text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES1":"ES"}}}"#),
            key: "markets.ES.streams.ES1", value: "\"ES\"", expected: "expected an object"),
        BadConfig(
            name: "instrument is a bool", text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES1":{"instrument":true}}}}"#),
            key: "markets.ES.streams.ES1.instrument", value: "true", expected: "expected a string"),
        BadConfig(
            name: "instrument is missing", text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES1":{}}}}"#),
            key: "markets.ES.streams.ES1.instrument", value: nil, expected: "missing; expected a string"),
        BadConfig(
            name: "an interval is a string", text: config(timings: #"{"heartbeat_interval_seconds":"30"}"#),
            key: "timings.heartbeat_interval_seconds", value: "\"30\"", expected: "expected a number"),
        BadConfig(name: "timings is a number", text: config(timings: "5"), key: "timings", value: "5", expected: "expected an object"),
        BadConfig(name: "paths is a string", text: config(paths: "\"/x\""), key: "paths", value: "\"/x\"", expected: "expected an object"),
        BadConfig(
            name: "lock_dir is a number", text: config(paths: #"{"lock_dir":5}"#), key: "paths.lock_dir", value: "5",
            expected: "expected a string"),
        BadConfig(
            name: "lock_dir is empty", text: config(paths: #"{"lock_dir":""}"#), key: "paths.lock_dir", value: "\"\"",
            expected: "expected a folder path"),
        BadConfig(
            name: "instrument_map is an array", text: config(map: "[]"), key: "instrument_map", value: "[]",
            expected: "expected an object"),
        BadConfig(
            name: "an instrument_map target is a number", text: config(map: #"{"MES":5}"#), key: "instrument_map.MES", value: "5",
            expected: "expected a canonical instrument"),
        BadConfig(
            name: "an instrument_map target is lower case", text: config(map: #"{"MES":"es"}"#), key: "instrument_map.MES",
            value: "\"es\"", expected: "expected a canonical instrument"),
        BadConfig(
            name: "an instrument_map key is not an instrument", text: config(map: #"{"m es":"ES"}"#), key: "instrument_map.m es",
            value: nil, expected: "\"m es\" is not an instrument"),
        BadConfig(
            name: "markets is missing", text: #"{"instrument_map":{}}"#, key: "markets", value: nil, expected: "missing; expected an object"
        ),
        BadConfig(
            name: "account is a number", text: config(extra: #","account":7"#), key: "account", value: "7", expected: "expected a string"),
        BadConfig(
            name: "account has a slash", text: config(extra: #","account":"a/b""#), key: "account", value: #""a/b""#,
            expected: "expected an account name: 1 to 32 of A-Z, a-z, 0-9, '_', '-', starting with a letter or digit"),
        BadConfig(
            name: "account is empty", text: config(extra: #","account":"""#), key: "account", value: #""""#,
            expected: "expected an account name"),
        BadConfig(
            name: "account is dots", text: config(extra: #","account":"..""#), key: "account", value: #""..""#,
            expected: "expected an account name"),
        BadConfig(
            name: "account is too long", text: config(extra: #","account":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#), key: "account",
            value: #""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa""#, expected: "expected an account name"),
        BadConfig(
            name: "allow_network_lock_dir is a string", text: config(paths: #"{"allow_network_lock_dir":"yes"}"#),
            key: "paths.allow_network_lock_dir", value: #""yes""#, expected: "expected true or false"),
    ]

    @Test("a value of the wrong type names the key, the value and the type expected", arguments: wrongTypes)
    func wrongType(_ bad: BadConfig) throws { try check(bad) }

    static let badNumbers: [BadConfig] = [
        BadConfig(
            name: "zero heartbeat interval", text: config(timings: #"{"heartbeat_interval_seconds":0}"#),
            key: "timings.heartbeat_interval_seconds", value: "0", expected: "expected a number from 0.01 to 86400"),
        BadConfig(
            name: "negative heartbeat interval", text: config(timings: #"{"heartbeat_interval_seconds":-5}"#),
            key: "timings.heartbeat_interval_seconds", value: "-5", expected: "expected a number from 0.01 to 86400"),
        BadConfig(
            name: "zero invariants interval", text: config(timings: #"{"invariants_interval_seconds":0}"#),
            key: "timings.invariants_interval_seconds", value: "0", expected: "expected a number from 0.001 to 86400"),
        BadConfig(
            name: "negative invariants interval", text: config(timings: #"{"invariants_interval_seconds":-1.5}"#),
            key: "timings.invariants_interval_seconds", value: "-1.5", expected: "expected a number from 0.001 to 86400"),
        BadConfig(
            name: "interval over a day", text: config(timings: #"{"invariants_interval_seconds":86401}"#),
            key: "timings.invariants_interval_seconds", value: "86401", expected: "expected a number from 0.001 to 86400"),
        BadConfig(
            name: "zero late intervals", text: config(timings: #"{"heartbeat_late_intervals":0}"#),
            key: "timings.heartbeat_late_intervals", value: "0", expected: "expected a number from 1 to 1000"),
        BadConfig(
            name: "zero lost seconds", text: config(timings: #"{"heartbeat_lost_seconds":0}"#),
            key: "timings.heartbeat_lost_seconds", value: "0", expected: "expected a number from 0.01 to 86400"),
        BadConfig(
            name: "lost equal to interval x late",
            text: config(timings: #"{"heartbeat_interval_seconds":30,"heartbeat_late_intervals":2,"heartbeat_lost_seconds":60}"#),
            key: "timings.heartbeat_lost_seconds", value: "60",
            expected: "expected more than heartbeat_interval_seconds x heartbeat_late_intervals (60)"),
        BadConfig(
            name: "lost below interval x late",
            text: config(timings: #"{"heartbeat_interval_seconds":30,"heartbeat_late_intervals":2,"heartbeat_lost_seconds":50}"#),
            key: "timings.heartbeat_lost_seconds", value: "50",
            expected: "expected more than heartbeat_interval_seconds x heartbeat_late_intervals (60)"),
        BadConfig(
            name: "fractional lost below interval x late",
            text: config(timings: #"{"heartbeat_interval_seconds":0.5,"heartbeat_late_intervals":3,"heartbeat_lost_seconds":1.25}"#),
            key: "timings.heartbeat_lost_seconds", value: "1.25",
            expected: "expected more than heartbeat_interval_seconds x heartbeat_late_intervals (1.5)"),
        BadConfig(
            name: "default lost seconds below a longer interval x late", text: config(timings: #"{"heartbeat_interval_seconds":60}"#),
            key: "timings.heartbeat_lost_seconds", value: "120",
            expected: "expected more than heartbeat_interval_seconds x heartbeat_late_intervals (120)"),
    ]

    @Test("intervals out of range name the key, the value and the range", arguments: badNumbers)
    func badNumber(_ bad: BadConfig) throws { try check(bad) }

    static let badMarkets: [BadConfig] = [
        BadConfig(
            name: "a market named after an execution instrument",
            text: config(markets: #"{"MES":{"execution":"MES","streams":{"ES1":{"instrument":"ES"}}}}"#), key: "markets.MES",
            value: nil, expected: "MES is an execution instrument of ES (instrument_map); configure the market as ES"),
        BadConfig(
            name: "execution of another market",
            text: config(markets: #"{"NQ":{"execution":"MES","streams":{"NQ1":{"instrument":"NQ"}}}}"#),
            key: "markets.NQ.execution", value: "\"MES\"", expected: "maps to ES, expected an instrument of NQ"),
        BadConfig(
            name: "another canonical market as execution",
            text: config(markets: #"{"NQ":{"execution":"ES","streams":{"NQ1":{"instrument":"NQ"}}}}"#),
            key: "markets.NQ.execution", value: "\"ES\"", expected: "maps to ES, expected an instrument of NQ"),
        BadConfig(
            name: "lower-case execution",
            text: config(markets: #"{"ES":{"execution":"mes","streams":{"ES1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.execution", value: "\"mes\"", expected: "expected upper case: \"MES\""),
        BadConfig(
            name: "execution that is not an instrument",
            text: config(markets: #"{"ES":{"execution":"M-ES","streams":{"ES1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.execution", value: "\"M-ES\"", expected: "expected an instrument (1 to 16 of A-Z, 0-9, '_'), or \"\" for none"),
        BadConfig(
            name: "a market with no streams", text: config(markets: #"{"ES":{"execution":"MES","streams":{}}}"#),
            key: "markets.ES.streams", value: "{}", expected: "expected at least one stream"),
        BadConfig(
            name: "a stream id with a space",
            text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES 1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.streams.ES 1", value: nil, expected: "\"ES 1\" is not a stream id: expected 1 to 32 of A-Z, a-z, 0-9, '_', '-'"
        ),
        BadConfig(
            name: "a stream id with a slash",
            text: config(markets: #"{"ES":{"execution":"MES","streams":{"ES/1":{"instrument":"ES"}}}}"#),
            key: "markets.ES.streams.ES/1", value: nil, expected: "\"ES/1\" is not a stream id"),
        BadConfig(
            name: "an empty stream id", text: config(markets: #"{"ES":{"execution":"MES","streams":{"":{"instrument":"ES"}}}}"#),
            key: "markets.ES.streams.", value: nil, expected: "\"\" is not a stream id"),
        BadConfig(
            name: "a 33-character stream id",
            text: config(markets: #"{"ES":{"execution":"MES","streams":{"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456":{"instrument":"ES"}}}}"#),
            key: "markets.ES.streams.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", value: nil, expected: "is not a stream id"),
        BadConfig(
            name: "a lower-case market name", text: config(markets: #"{"es":{"execution":"MES","streams":{"ES1":{"instrument":"ES"}}}}"#),
            key: "markets.es", value: nil, expected: "\"es\" is not a canonical instrument"),
        BadConfig(name: "no markets", text: config(markets: "{}"), key: "markets", value: "{}", expected: "expected at least one market"),
        BadConfig(
            name: "an instrument_map chain", text: config(map: #"{"A":"B","B":"C"}"#), key: "instrument_map.A", value: "\"B\"",
            expected: "B is itself mapped to C; map A to the canonical instrument"),
        BadConfig(
            name: "an instrument mapped to itself", text: config(map: #"{"MES":"ES","ES":"ES"}"#), key: "instrument_map.ES",
            value: "\"ES\"", expected: "an instrument maps to itself already; remove this entry"),
    ]

    @Test("market, stream and instrument_map mistakes name the key and the value", arguments: badMarkets)
    func badMarket(_ bad: BadConfig) throws { try check(bad) }

    @Test("invalid JSON is reported by line and column")
    func invalidJSON() throws {
        let text = "{\n  \"markets\": {\n    \"ES\": 1,\n  }\n}\n"
        let error = try #require(configError(text))
        #expect(error.file == "test.json")
        #expect(error.key == "")
        #expect(error.value == nil)
        #expect(error.expected == "not valid JSON: expected a key at line 4, column 3")
        #expect(error.description == "test.json: not valid JSON: expected a key at line 4, column 3")

        let second = try #require(configError("{\"markets\": {}}}"))
        #expect(second.expected == "not valid JSON: unexpected bytes after the value at line 1, column 16")

        let duplicate = try #require(configError("{\n\"markets\":{},\n\"markets\":{}}"))
        #expect(duplicate.expected == "not valid JSON: duplicate key \"markets\" at line 3, column 10")

        let badBytes: [UInt8] = Array("{\"markets\":\"".utf8) + [0xC0, 0xAF] + Array("\"}".utf8)
        do {
            _ = try ConfigLoader.parse(badBytes, source: "bytes.json", home: "/srv/robot")
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.file == "bytes.json")
            #expect(error.expected == "not valid JSON: the line is not valid UTF-8")
        }
    }
}
