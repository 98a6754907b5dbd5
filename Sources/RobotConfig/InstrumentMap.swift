import Wire

/// Maps execution instruments onto their canonical market (`MES -> ES`); a canonical instrument
/// maps to itself.
public struct InstrumentMap: Sendable, Equatable {
    /// Execution instrument -> canonical instrument. No chains: a canonical is never a key.
    public private(set) var executionToCanonical: [String: String]

    public init(_ executionToCanonical: [String: String]) {
        self.executionToCanonical = executionToCanonical
    }

    /// Why a symbol cannot be canonicalised.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case invalidCharacters(String)

        public var description: String {
            switch self {
            case .invalidCharacters(let s):
                return "\"\(s)\" is not an instrument: expected 1 to 16 letters, digits or '_', starting with a letter"
            }
        }
    }

    /// The canonical market of `symbol`: upper-cased, its character set checked, then mapped.
    /// The way an operator's or a command line's symbol becomes a `CanonicalMarket`.
    public func canonical(of symbol: String) throws(Failure) -> CanonicalMarket {
        // ASCII only: Unicode case mapping would turn "meſ" into "MES", "ß" into "SS".
        guard symbol.utf8.allSatisfy({ $0 < 0x80 }) else { throw .invalidCharacters(symbol) }
        let upper = symbol.uppercased()
        guard Identifier.isValidMarket(upper), let market = CanonicalMarket(executionToCanonical[upper] ?? upper) else {
            throw .invalidCharacters(symbol)
        }
        return market
    }

    /// The upper-cased, checked form of `symbol` itself, unmapped.
    public func normalized(_ symbol: String) throws(Failure) -> String {
        // ASCII only: Unicode case mapping would turn "meſ" into "MES", "ß" into "SS".
        guard symbol.utf8.allSatisfy({ $0 < 0x80 }) else { throw .invalidCharacters(symbol) }
        let upper = symbol.uppercased()
        guard Identifier.isValidMarket(upper) else { throw .invalidCharacters(symbol) }
        return upper
    }

    /// True when `symbol` (already upper-case) is an execution instrument of another market.
    public func isExecutionOnly(_ symbol: String) -> Bool { executionToCanonical[symbol] != nil }
}
