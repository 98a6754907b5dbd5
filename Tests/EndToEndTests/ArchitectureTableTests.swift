import Foundation
import Testing

/// docs/ARCHITECTURE.md's module table is the map a newcomer reads first: it must name every
/// target of `Package.swift`, and for each library and executable row its "may import" column must
/// list exactly the project's targets that `Package.swift` lets it depend on.
@Suite struct ArchitectureTableTests {
    /// Each target's name and the project targets it depends on, read from `Package.swift`.
    static func packageTargets() throws -> [String: Set<String>] {
        let text = try String(contentsOfFile: MetricsProbe.packageRoot + "/Package.swift", encoding: .utf8)
        let declaration = try Regex(#"\.(?:target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"([^"]+)""#)
        let matches = text.matches(of: declaration)
        var targets: [String: Set<String>] = [:]
        for (i, match) in matches.enumerated() {
            let name = String(match.output[1].substring ?? "")
            let end = i + 1 < matches.count ? matches[i + 1].range.lowerBound : text.endIndex
            // Products of other packages named the same as a target would count: leave them out.
            let body = String(text[match.range.upperBound..<end]).replacing(try Regex(#"\.product\([^)]*\)"#), with: "")
            let quoted = body.matches(of: try Regex(#""([A-Za-z][A-Za-z-]*)""#)).compactMap { $0.output[1].substring.map(String.init) }
            targets[name] = Set(quoted)
        }
        let names = Set(targets.keys)
        return targets.mapValues { $0.intersection(names) }
    }

    /// The table's rows: the targets in the first column, the backticked names in the last.
    static func tableRows() throws -> [(targets: [String], mayImport: Set<String>)] {
        let text = try String(contentsOfFile: MetricsProbe.packageRoot + "/docs/ARCHITECTURE.md", encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("| target | kind | holds | may import |") }) else { return [] }
        let code = try Regex("`([^`]+)`")
        var rows: [(targets: [String], mayImport: Set<String>)] = []
        for line in lines[(header + 2)...] {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 5 else { continue }
            let targets = cells[1].matches(of: code).compactMap { $0.output[1].substring.map(String.init) }
            let imports = Set(cells[cells.count - 2].matches(of: code).compactMap { $0.output[1].substring.map(String.init) })
            rows.append((targets, imports))
        }
        return rows
    }

    @Test func everyTargetHasARowAndEverySingleTargetRowListsExactlyItsDependencies() throws {
        let targets = try Self.packageTargets()
        let rows = try Self.tableRows()
        #expect(!rows.isEmpty, "no module table found in docs/ARCHITECTURE.md")
        let named = Set(rows.flatMap(\.targets))
        #expect(Set(targets.keys).subtracting(named).isEmpty, "targets without a row: \(Set(targets.keys).subtracting(named).sorted())")
        #expect(
            named.subtracting(targets.keys).isEmpty, "rows naming no target of Package.swift: \(named.subtracting(targets.keys).sorted())")
        for row in rows where row.targets.count == 1 && !row.targets[0].hasSuffix("Tests") {
            let name = row.targets[0]
            #expect(
                row.mayImport == targets[name] ?? [],
                "\(name): the table says \(row.mayImport.sorted()), Package.swift \((targets[name] ?? []).sorted())")
        }
    }
}
