import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A destination's alert queue on disk, `state_dir/watchdog/alert-queue-<sink>.json`, so notices
/// not yet delivered survive a watchdog restart. Replaced atomically like the snapshot (temporary
/// file, fsync, rename, fsync of the folder): a crash leaves the old or the new queue.
struct AlertQueueFile: Sendable {
    struct Document: Codable {
        var v: Int64 = 1
        var sink: String
        var notices: [AlertNotice]
    }

    let path: String
    let sink: String

    init(stateDir: String, sink: String) {
        self.sink = sink
        path = stateDir + "/watchdog/alert-queue-\(sink).json"
    }

    /// The queued notices; none when there is no file. A file that cannot be read is moved aside
    /// to `<path>.damaged` and reported in `problem` (the watchdog runs on; its alerts stay in its
    /// state and status, and the journal has every one).
    func load() -> (notices: [AlertNotice], problem: String?) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], nil) }
        let detail: String
        if let data = FileManager.default.contents(atPath: path) {
            do {
                let doc = try JSONDecoder().decode(Document.self, from: data)
                if doc.v == 1 { return (doc.notices, nil) }
                detail = "version \(doc.v), this build reads version 1"
            } catch {
                detail = "not an alert queue: \(error)"
            }
        } else {
            detail = "unreadable"
        }
        let aside = path + ".damaged"
        let moved = rename(path, aside) == 0
        return (
            [],
            "\(path): the alert queue cannot be read (\(detail)); "
                + (moved ? "moved to \(aside)," : "could not move it aside (\(SystemError("rename")))") + " starting with an empty queue"
        )
    }

    /// Writes `notices` durably.
    func save(_ notices: [AlertNotice]) throws(SystemError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(Document(sink: sink, notices: notices)) else {
            throw SystemError("encode \(path)", code: EINVAL)
        }
        try FileIO.replaceAtomically(path, Array(data))
    }
}
