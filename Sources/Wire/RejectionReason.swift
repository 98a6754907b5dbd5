/// Why a line or a connection was refused. The raw value is the name it is counted and logged
/// under (in the watchdog's counters, in status and in docs/PROTOCOL.md).
public enum RejectionReason: String, CaseIterable, Sendable, Codable, Hashable {
    /// Longer than `WireFormat.maxLineBytes`; discarded up to its newline.
    case lineTooLong = "line_too_long"
    /// Not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// Not one strict JSON value (RFC 8259; duplicate keys, nesting deeper than
    /// `WireFormat.maxDepth` and trailing bytes are refused too).
    case invalidJSON = "invalid_json"
    /// JSON, but not an object, or an envelope field of the wrong type or out of range.
    case invalidField = "invalid_field"
    /// An envelope field is absent.
    case missingField = "missing_field"
    /// `v` is not a version this build speaks.
    case unsupportedVersion = "unsupported_version"
    /// An event names a market other than the one its connection said hello for.
    case wrongMarket = "wrong_market"
    /// The first line of a connection is not a valid hello.
    case badHello = "bad_hello"
    /// A hello's pid is not the connecting process's (SO_PEERCRED).
    case peerMismatch = "peer_mismatch"
    /// A connection that sent no hello within the hello timeout.
    case helloTimeout = "hello_timeout"
    /// A request that changes state, from a peer whose uid may not change it.
    case notPermitted = "not_permitted"
    /// A worker hello whose fence is not above the highest fence the watchdog has seen for the
    /// market from another run (the lock folder lost its fences); the refusal names the mark.
    case fenceRegression = "fence_regression"
    /// Past the connection limit.
    case tooManyConnections = "too_many_connections"
}

/// A refused line: the counted reason and a human-readable detail naming the field or offset.
public struct LineError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectionReason
    public var detail: String
    /// The byte of the line where parsing failed, when the reason is `invalid_json`.
    public var offset: Int?

    public init(_ reason: RejectionReason, _ detail: String, offset: Int? = nil) {
        self.reason = reason
        self.detail = detail
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

/// The constants of the wire format (docs/PROTOCOL.md).
public enum WireFormat {
    /// The only format version this build speaks (`v`).
    public static let version: Int64 = 1
    /// The longest line accepted, newline excluded.
    public static let maxLineBytes = 64 * 1024
    /// The deepest nesting of arrays and objects accepted in one line.
    public static let maxDepth = 32
}
