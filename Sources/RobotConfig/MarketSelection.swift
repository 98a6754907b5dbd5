/// The markets an operator command names (`status ES mnq`, `stop all`), checked against the
/// markets a program answers for: each name canonicalised as the supervisor does (`es`, `MES` ->
/// ES), `all` (alone) meaning every one, duplicates dropped, order kept. An unknown name is refused
/// with the list of the known ones, never turned into a made-up row.
public enum MarketSelection {
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// The names as given that are not markets here.
        public var unknown: [String]
        public var known: [String]

        public var description: String {
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            return "unknown market\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")); configured: \(list)"
        }
    }

    /// The canonical markets `names` select among `known` (sorted); no names select every one.
    public static func resolve(_ names: [String], map: InstrumentMap, known: [String]) throws(Refusal) -> [String] {
        let known = known.sorted()
        if names.isEmpty || names == ["all"] || names == ["ALL"] { return known }
        var out: [String] = []
        var unknown: [String] = []
        for name in names {
            guard let canonical = try? map.canonical(of: name).name, known.contains(canonical) else {
                unknown.append(name == "all" ? "all (alone, not with market names)" : name)
                continue
            }
            if !out.contains(canonical) { out.append(canonical) }
        }
        guard unknown.isEmpty else { throw Refusal(unknown: unknown, known: known) }
        return out
    }
}
