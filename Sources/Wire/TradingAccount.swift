/// The trading account (or deployment) the executors act for, made only by validation: 1 to 32 of
/// A–Z, a–z, 0–9, `_` and `-`, starting with a letter or a digit (configuration key `account`).
///
/// The single-executor guarantee is per (account, canonical market) on a host: the host-wide guard
/// folder holds one subfolder per account, so the name reaches a path only after this check (no
/// `/`, no `.`, no `..`, nothing above 0x7F, never empty).
public struct TradingAccount: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let name: String

    public init?(_ name: String) {
        guard Self.isValid(name) else { return nil }
        self.name = name
    }

    /// The account of a configuration that names none.
    public static let `default` = TradingAccount(uncheckedDefault: "default")

    private init(uncheckedDefault name: String) { self.name = name }

    public var description: String { name }

    public static func < (a: TradingAccount, b: TradingAccount) -> Bool { a.name < b.name }

    public static func isValid(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard (1...32).contains(u.count) else { return false }
        func alnum(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
        }
        guard alnum(u[0]) else { return false }
        return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}
