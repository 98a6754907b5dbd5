import Platform

#if canImport(Glibc)
import Glibc
#endif

/// The files of a market's journal besides `events.ndjson` (docs/robot-worker.md, "The journal"):
///
/// - `events.seg-NNNNNN.ndjson`: a sealed segment, rotated out while some of its events were not
///   yet acked (the watchdog was away). Segments and then `events.ndjson` are one journal, in
///   order; the worker re-offers their un-acked events, and once all are acked keeps the newest
///   as `events.1.ndjson` and deletes the rest.
/// - `events.1.ndjson`: the last journal rotated once every event in it was acked.
/// - `events.verified.json`: the verified prefix (`VerifiedPrefix`).
public struct JournalSegments: Sendable, Equatable {
    public let journalPath: String

    public init(journalPath: String) { self.journalPath = journalPath }

    private var stem: String { journalPath.hasSuffix(".ndjson") ? String(journalPath.dropLast(".ndjson".count)) : journalPath }
    private var folder: String {
        guard let slash = journalPath.lastIndex(of: "/") else { return "." }
        return String(journalPath[..<slash])
    }
    private var baseName: String {
        let name = journalPath.split(separator: "/").last.map(String.init) ?? journalPath
        return name.hasSuffix(".ndjson") ? String(name.dropLast(".ndjson".count)) : name
    }

    /// Where the verified prefix is recorded.
    public var verifiedPath: String { stem + ".verified.json" }

    /// The segment numbered `n`.
    public func segmentPath(_ n: Int) -> String {
        let digits = String(n)
        return stem + ".seg-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".ndjson"
    }

    /// The number of a segment's file name, nil for any other name.
    public func segmentNumber(ofName name: String) -> Int? {
        let prefix = baseName + ".seg-"
        guard name.hasPrefix(prefix), name.hasSuffix(".ndjson") else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(".ndjson".count)
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// The sealed segments on disk, oldest first.
    public func list() -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var found: [(Int, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let n = segmentNumber(ofName: name) { found.append((n, folder + "/" + name)) }
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The next segment's path (one above the highest on disk).
    public func nextSegmentPath() -> String {
        let highest = list().compactMap { segmentNumber(ofName: String($0.split(separator: "/").last ?? "")) }.max() ?? 0
        return segmentPath(highest + 1)
    }
}
