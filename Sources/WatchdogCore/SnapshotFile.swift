import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// The watchdog's durable state, `state_dir/watchdog/snapshot.json`: the whole `WatchdogState`
/// as one JSON document, replaced atomically (temporary file, fsync, rename, fsync of the folder),
/// so a crash leaves the old or the new snapshot, never a mix. What it holds is what the
/// watchdog acks and what a welcome reports.
public struct SnapshotFile: Sendable {
    /// The document on disk.
    struct Document: Codable {
        var v: Int64 = 1
        var savedAtUTC: String
        var state: WatchdogState

        enum CodingKeys: String, CodingKey {
            case v, state
            case savedAtUTC = "saved_at_utc"
        }
    }

    /// Why a snapshot cannot be used.
    public struct Damaged: Error, CustomStringConvertible {
        public var path: String
        public var detail: String
        public var description: String {
            "\(path): the snapshot cannot be read (\(detail)); refusing to start rather than forget which events were applied. "
                + "Move it aside to start with an empty state (workers then re-send what their journals hold)."
        }
    }

    public let path: String

    public init(stateDir: String) { path = stateDir + "/watchdog/snapshot.json" }

    public var folder: String { String(path[..<path.lastIndex(of: "/")!]) }

    /// The saved state, or nil when there is no snapshot yet. Throws `Damaged` for anything else.
    public func load() throws(Damaged) -> WatchdogState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw Damaged(path: path, detail: "unreadable") }
        do {
            let doc = try JSONDecoder().decode(Document.self, from: data)
            guard doc.v == 1 else { throw Damaged(path: path, detail: "version \(doc.v), this build reads version 1") }
            return doc.state
        } catch let error as Damaged {
            throw error
        } catch {
            throw Damaged(path: path, detail: "not a snapshot: \(error)")
        }
    }

    /// Writes `state` durably. On failure the previous snapshot is left as it was.
    public func save(_ state: WatchdogState, at now: WatchdogInstant) throws(SystemError) {
        try write(try encode(state, at: now))
    }

    /// The document for `state`, saved at `now`: what `write` puts on disk.
    public func encode(_ state: WatchdogState, at now: WatchdogInstant) throws(SystemError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(Document(savedAtUTC: now.utc, state: state)) else {
            throw SystemError("encode \(path)", code: EINVAL)
        }
        return data
    }

    /// Replaces the snapshot with `data` (from `encode`) durably: temporary file, fsync, rename,
    /// fsync of the folder. On failure the previous snapshot is left as it was.
    public func write(_ data: some ContiguousBytes) throws(SystemError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw SystemError("open \(tmp)") }
        var failure: SystemError?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = SystemError("write \(tmp)")
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = SystemError("fsync \(tmp)") }
        close(fd)
        if let failure {
            unlink(tmp)
            throw failure
        }
        guard rename(tmp, path) == 0 else { throw SystemError("rename \(tmp)") }
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw SystemError("open \(folder)") }
        defer { close(dir) }
        guard fsync(dir) == 0 else { throw SystemError("fsync \(folder)") }
    }
}
