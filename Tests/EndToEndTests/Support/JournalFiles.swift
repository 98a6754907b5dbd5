import Foundation
import Wire

/// A market's journal files in a state folder (`state_dir/M`), read as a test sees them: the
/// last rotated file, the sealed segments in order, then `events.ndjson` (docs/robot-worker.md,
/// "What is bounded").
struct JournalFiles {
    let folder: String

    var rotated: String { folder + "/events.1.ndjson" }
    var current: String { folder + "/events.ndjson" }

    /// The sealed segments (`events.seg-NNNNNN.ndjson`), oldest first.
    var segments: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix("events.seg-") && $0.hasSuffix(".ndjson") }.sorted().map { folder + "/" + $0 }
    }

    /// Every file of the journal, in the order its events were written.
    var all: [String] { [rotated] + segments + [current] }

    /// The events of `paths`, in order; a missing file holds none, a line that is not an event is
    /// skipped.
    static func events(_ paths: [String]) -> [Event] {
        paths.flatMap { path -> [Event] in
            guard let data = FileManager.default.contents(atPath: path) else { return [] }
            return data.split(separator: UInt8(ascii: "\n")).compactMap { try? Event.decode(line: Array($0)) }
        }
    }
}
