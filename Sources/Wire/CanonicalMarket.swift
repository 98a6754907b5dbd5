/// A canonical market's name (`ES`, `NQ`, `MES_2`), made only by validation: 1 to 16 of A–Z, 0–9
/// and `_`, starting with a letter (`Identifier.isValidMarket`).
///
/// Every API that builds a file or socket path from a market (lock and fence files, state folders,
/// journals, snapshots, control sockets) takes this type, not a `String`, so a name reaches a path
/// only after it was checked: no `/`, no `..`, no byte above 0x7F, never empty, never long enough
/// to overflow a socket address. It lives in `Wire` because the name crosses process boundaries
/// (hellos, events, control requests) and every module that builds a path already imports `Wire`;
/// the JSON structs keep a plain `String` and are validated into this type where they are read.
public struct CanonicalMarket: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The validated name.
    public let name: String

    /// The market named `name` exactly as given (no case mapping, no instrument map); nil when it
    /// is not a valid canonical name.
    public init?(_ name: String) {
        guard Identifier.isValidMarket(name) else { return nil }
        self.name = name
    }

    public var description: String { name }

    public static func < (a: CanonicalMarket, b: CanonicalMarket) -> Bool { a.name < b.name }
}
