import Testing
import Wire

/// The error `JSONParser.parse` throws for `bytes`, or nil when it parses.
func parseError(_ bytes: [UInt8]) -> LineError? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

func parseError(_ text: String) -> LineError? { parseError(Array(text.utf8)) }

/// The compact text `JSONValue.write(into:)` gives for `value`.
func written(_ value: JSONValue) -> String {
    var out: [UInt8] = []
    value.write(into: &out)
    return String(decoding: out, as: UTF8.self)
}

/// A valid event line (newline excluded) with multi-byte UTF-8, escapes and nesting in its data.
let sampleEventLine: [UInt8] = Array(
    (#"{"v":1,"type":"IDENTITY_INVARIANTS_STATUS","market":"ES","run_id":"ES-20261121T071500Z-4f3a9c1b","pid":4242,"#
        + #""fence":7,"seq":12,"ts":"2026-11-21T07:15:00.123456Z","data":{"pass":false,"violations":["stream MES1: ça \"x\""],"#
        + #""streams":["ES1","ES2"],"ratio":1.5,"nested":{"a":[null,true,{"b":-3}]}}}"#).utf8)

@Suite("JSONParser")
struct JSONParserTests {
    // MARK: Round trips

    @Test(
        "valid compact documents round-trip byte for byte",
        arguments: [
            "null", "true", "false", "0", "-1", "42", "9223372036854775807", "-9223372036854775808",
            "1.5", "-0.25", "1e-07", "1.5e+300", "\"\"", "\"abc\"",
            #""a\"b\\c\nd\re\tf\u0001\u001f""#,
            "\"é€😀 ünïcödé\"",
            "[]", "{}", "[[]]", "{\"\":{}}",
            "[1,\"two\",null,true,[false,{}],-7,2.5]",
            "{\"z\":1,\"a\":2,\"m\":{\"y\":[],\"b\":null,\"a\":\"x\"}}",
            String(decoding: sampleEventLine, as: UTF8.self),
        ])
    func roundTrip(_ text: String) throws {
        let value = try JSONParser.parse(text)
        #expect(written(value) == text)
        #expect(value.jsonText == text)
    }

    @Test("object keys keep their written order")
    func keyOrder() throws {
        let value = try JSONParser.parse(#"{"zeta":1,"alpha":2,"mid":3,"beta":4}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["zeta", "alpha", "mid", "beta"])
        #expect(object["alpha"] == .int(2))
        #expect(object["missing"] == nil)
    }

    @Test("whitespace between tokens is accepted and dropped on writing")
    func whitespace() throws {
        let value = try JSONParser.parse(" \t\r\n{ \"a\" : [ 1 , 2 ] ,\n\"b\" :\tnull } \n")
        #expect(written(value) == #"{"a":[1,2],"b":null}"#)
    }

    @Test("values parse to the expected cases")
    func valueKinds() throws {
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("false") == .bool(false))
        #expect(try JSONParser.parse("0") == .int(0))
        #expect(try JSONParser.parse("-17") == .int(-17))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("1e2") == .double(100))
        #expect(try JSONParser.parse("1E+2") == .double(100))
        #expect(try JSONParser.parse("25e-1") == .double(2.5))
        #expect(try JSONParser.parse("\"s\"") == .string("s"))
        #expect(try JSONParser.parse("[1,\"a\"]") == .array([.int(1), .string("a")]))
        #expect(try JSONParser.parse("{\"k\":[]}") == .object(["k": .array([])]))
    }

    // MARK: Strict rejections

    @Test(
        "strict rejections are invalid_json",
        arguments: [
            // trailing commas
            "[1,]", "{\"a\":1,}", "[,1]", "{,}",
            // leading zeros
            "01", "-01", "[00]", "{\"a\":007}",
            // single quotes
            "'a'", "{'a':1}", "[\"a\",'b']",
            // comments
            "[1]//c", "/*c*/1", "{\"a\":1 /* c */}", "# c\n1",
            // raw control characters in strings
            "\"a\tb\"", "\"a\nb\"", "\"\u{01}\"", "\"\u{1F}\"", "\"a\rb\"",
            // lone surrogates
            #""\ud800""#, #""\uDBFF""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\ud800\ud800""#,
            // invalid escapes
            #""\x""#, #""\'""#, #""\u12""#, #""\u12G4""#, #""\U0041""#, #""\a""#, #""\0""#,
            // duplicate keys
            "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", "[{\"k\":1,\"k\":1}]",
            // trailing bytes after the value
            "1 2", "{} x", "[1]]", "{}{}", "\"a\"\"b\"", "null,",
            // other malformed input
            "", " ", "tru", "nul", "True", "NaN", "Infinity", "-Infinity", "-", "1.", ".5", "1e", "1e+", "+1",
            "[1 2]", "{\"a\" 1}", "{1:2}", "{\"a\"}", "\"abc", "\"abc\\", "[", "{\"a\":", "0x10", "1.5.2", "\u{FEFF}1",
        ])
    func strictRejection(_ text: String) throws {
        let error = try #require(parseError(text), "accepted: \(text.debugDescription)")
        #expect(error.reason == .invalidJSON, "\(text.debugDescription): \(error)")
        #expect(error.offset != nil)
    }

    @Test("the error names the byte offset where parsing stopped")
    func errorOffsets() throws {
        let trailingComma = try #require(parseError("[1,]"))
        #expect(trailingComma.offset == 3)
        #expect(trailingComma.detail.hasSuffix("at byte 3"))
        let trailing = try #require(parseError("{\"a\":1} x"))
        #expect(trailing.offset == 8)
        #expect(trailing.detail.contains("unexpected bytes after the value"))
        let duplicate = try #require(parseError("{\"a\":1,\"a\":2}"))
        #expect(duplicate.detail.contains("duplicate key \"a\""))
        let leadingZero = try #require(parseError("[01]"))
        #expect(leadingZero.offset == 1)
        #expect(leadingZero.detail.contains("leading zero"))
    }

    @Test("nesting up to WireFormat.maxDepth is accepted, one more is refused")
    func depth() throws {
        let maxDepth = WireFormat.maxDepth
        #expect(maxDepth == 32)
        let deepestArrays = String(repeating: "[", count: maxDepth) + String(repeating: "]", count: maxDepth)
        #expect(written(try JSONParser.parse(deepestArrays)) == deepestArrays)
        let tooDeepArrays = "[" + deepestArrays + "]"
        #expect(parseError(tooDeepArrays)?.reason == .invalidJSON)
        #expect(parseError(tooDeepArrays)?.detail.contains("nesting deeper than 32") == true)

        let deepestObjects = String(repeating: "{\"a\":", count: maxDepth - 1) + "{}" + String(repeating: "}", count: maxDepth - 1)
        #expect(written(try JSONParser.parse(deepestObjects)) == deepestObjects)
        let tooDeepObjects = "{\"a\":" + deepestObjects + "}"
        #expect(parseError(tooDeepObjects)?.reason == .invalidJSON)

        let mixed = String(repeating: "[{\"k\":", count: 16) + "1" + String(repeating: "}]", count: 16)
        #expect(written(try JSONParser.parse(mixed)) == mixed)
        let mixedTooDeep = "[" + mixed + "]"
        #expect(parseError(mixedTooDeep)?.reason == .invalidJSON)
    }

    @Test("a million opening brackets are refused without exhausting the stack")
    func hugeNesting() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(parseError(bytes)?.reason == .invalidJSON)
    }

    @Test("every truncation of a valid event line throws, never crashes")
    func truncatedEventLine() throws {
        _ = try JSONParser.parse(sampleEventLine)
        _ = try Event.decode(line: sampleEventLine)
        for length in 0..<sampleEventLine.count {
            let prefix = Array(sampleEventLine[0..<length])
            let error = parseError(prefix)
            #expect(error != nil, "a prefix of \(length) bytes was accepted")
            if let error {
                // Cutting inside the two-byte "ç" leaves invalid UTF-8; anything else is malformed JSON.
                #expect(error.reason == .invalidJSON || error.reason == .invalidUTF8)
            }
            #expect(throws: LineError.self) { try Event.decode(line: prefix) }
        }
    }

    // MARK: UTF-8

    @Test(
        "invalid UTF-8 is invalid_utf8",
        arguments: [
            [0xC0, 0xAF], [0xC1, 0xBF], // overlong 2-byte
            [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], // overlong 3-byte
            [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF], // overlong 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], // UTF-16 surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFF], [0xFE], // above U+10FFFF
            [0x80], [0xBF], // lone continuation bytes
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], // truncated sequences
            [0xC3, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x41, 0x80], // continuation replaced by ASCII
        ] as [[UInt8]])
    func invalidUTF8(_ bad: [UInt8]) {
        let quote = UInt8(ascii: "\"")
        // Inside a string.
        #expect(parseError([quote] + bad + [quote])?.reason == .invalidUTF8)
        // At the very end of the input, with the string unterminated.
        #expect(parseError([quote] + bad)?.reason == .invalidUTF8)
        // Outside any string: UTF-8 is checked before the JSON grammar.
        #expect(parseError(Array("[1]".utf8) + bad)?.reason == .invalidUTF8)
    }

    @Test(
        "boundary code points of valid UTF-8 are accepted",
        arguments: [
            [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        ] as [[UInt8]])
    func validUTF8(_ good: [UInt8]) throws {
        let quote = UInt8(ascii: "\"")
        let value = try JSONParser.parse([quote] + good + [quote])
        #expect(value == .string(String(decoding: good, as: UTF8.self)))
        #expect(Array(try #require(value.stringValue).utf8) == good)
    }

    // MARK: Numbers

    @Test("Int64 bounds are exact, anything wider is a double, overflowing a double throws")
    func integerRange() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9_223_372_036_854_775_808.0))
        #expect(try JSONParser.parse("-9223372036854775809") == .double(-9_223_372_036_854_775_809.0))
        #expect(try JSONParser.parse("18446744073709551616") == .double(18_446_744_073_709_551_616.0))
        #expect(try JSONParser.parse("-0") == .int(0))
        #expect(try JSONParser.parse("1e-400") == .double(0))
        for text in ["1e400", "-1e400", "1" + String(repeating: "0", count: 400)] {
            let error = try #require(parseError(text), "\(text) was accepted")
            #expect(error.reason == .invalidJSON)
            #expect(error.detail.contains("out of range"))
        }
    }

    // MARK: Escapes

    @Test("escapes decode to the characters they name")
    func escapes() throws {
        #expect(try JSONParser.parse(#""a\nb""#) == .string("a\nb"))
        #expect(try JSONParser.parse(#""say \"hi\"""#) == .string("say \"hi\""))
        #expect(try JSONParser.parse(#""back\\slash""#) == .string("back\\slash"))
        #expect(try JSONParser.parse(#""caf\u00e9""#) == .string("café"))
        #expect(try JSONParser.parse(#""caf\u00E9""#) == .string("café"))
        #expect(try JSONParser.parse(#""\/\b\f\r\t""#) == .string("/\u{08}\u{0C}\r\t"))
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONParser.parse(#""\u20ac""#) == .string("€"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\uD83D\uDE00!""#) == .string("😀!"))
        #expect(try JSONParser.parse(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
        #expect(try JSONParser.parse(#""x\u00e9y\nz""#) == .string("xéy\nz"))
    }

    @Test("escaped text is written back in the canonical form")
    func escapeWriting() throws {
        // \u00e9 is written as the UTF-8 character, \/ as a plain slash, other controls as \u00XX.
        let value = try JSONParser.parse(#""\u00e9\/\b\f\u0000""#)
        #expect(written(value) == "\"é/\\u0008\\u000c\\u0000\"")
        #expect(try JSONParser.parse(written(value)) == value)
    }
}
