import Wire

/// Walks one JSON object of the configuration, remembering its key path and which keys were read,
/// so that every error names the file, the key and the value, and an unknown key is an error.
struct ConfigReader {
    let file: String
    let path: String
    let object: JSONObject
    private var used: Set<String> = []

    init(file: String, path: String, object: JSONObject) {
        self.file = file
        self.path = path
        self.object = object
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func error(_ key: String, _ value: JSONValue?, _ expected: String) -> ConfigError {
        ConfigError(file: file, key: keyPath(key), value: value?.jsonText, expected: expected)
    }

    mutating func optional(_ key: String) -> JSONValue? {
        used.insert(key)
        return object[key]
    }

    mutating func required(_ key: String, _ expected: String) throws(ConfigError) -> JSONValue {
        guard let v = optional(key) else {
            throw ConfigError(file: file, key: keyPath(key), value: nil, expected: "missing; expected \(expected)")
        }
        return v
    }

    mutating func object(_ key: String) throws(ConfigError) -> ConfigReader {
        let v = try required(key, "an object")
        guard case .object(let o) = v else { throw error(key, v, "expected an object") }
        return ConfigReader(file: file, path: keyPath(key), object: o)
    }

    mutating func optionalObject(_ key: String) throws(ConfigError) -> ConfigReader? {
        guard let v = optional(key) else { return nil }
        guard case .object(let o) = v else { throw error(key, v, "expected an object") }
        return ConfigReader(file: file, path: keyPath(key), object: o)
    }

    mutating func string(_ key: String) throws(ConfigError) -> String {
        let v = try required(key, "a string")
        guard case .string(let s) = v else { throw error(key, v, "expected a string") }
        return s
    }

    mutating func optionalString(_ key: String, default fallback: String) throws(ConfigError) -> String {
        guard let v = optional(key) else { return fallback }
        guard case .string(let s) = v else { throw error(key, v, "expected a string") }
        return s
    }

    mutating func optionalBool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let v = optional(key) else { return fallback }
        guard case .bool(let b) = v else { throw error(key, v, "expected true or false") }
        return b
    }

    /// A number of seconds (or a count) in `range`, or `fallback` when absent.
    mutating func number(_ key: String, default fallback: Double, in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard let v = optional(key) else { return fallback }
        guard let d = v.doubleValue else { throw error(key, v, "expected a number") }
        guard range.contains(d) else {
            throw error(key, v, "expected a number from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))")
        }
        return d
    }

    /// `true` or `false`, or `fallback` when absent.
    mutating func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let v = optional(key) else { return fallback }
        guard let b = v.boolValue else { throw error(key, v, "expected true or false") }
        return b
    }

    mutating func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let v = optional(key) else { return fallback }
        guard case .int(let i) = v else { throw error(key, v, "expected a whole number") }
        guard i >= range.lowerBound, i <= range.upperBound else {
            throw error(key, v, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(i)
    }

    /// Every key of this object, in file order, with a reader for each object value.
    func members() -> [(key: String, value: JSONValue)] { object.members }

    /// Throws for the first key nobody asked for.
    func rejectUnknownKeys(_ known: [String]) throws(ConfigError) {
        for key in object.keys where !used.contains(key) {
            let list = known.joined(separator: ", ")
            throw error(key, nil, "unknown key; expected one of: \(list)")
        }
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
