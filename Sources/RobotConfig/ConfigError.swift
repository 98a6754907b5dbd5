/// A configuration that cannot be used: the file, the key path, the value found and what was
/// expected. Printed as one line, for example:
/// `config/robot.json: markets.ES.execution: "MNQ" maps to NQ, expected an instrument of ES`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// Dotted key path (`markets.ES.streams.ES1.instrument`), empty for the whole file.
    public var key: String
    /// The value found, as JSON text, or nil when the key is absent or not the point.
    public var value: String?
    public var expected: String

    public init(file: String, key: String, value: String?, expected: String) {
        self.file = file
        self.key = key
        self.value = value
        self.expected = expected
    }

    public var description: String {
        var s = file + ": "
        if !key.isEmpty { s += key + ": " }
        if let value { s += value + ": " }
        return s + expected
    }
}
