import Foundation
import Platform
import Wire

/// What the last integrity check of a market's journal covered (`events.verified.json` beside the
/// journal, docs/robot-worker.md "Start-up from a verified prefix"): the sealed segments and the
/// first `bytes` of `events.ndjson`, each with its CRC-32C, and the integrity rules' state after
/// them (`JournalVerifier.State`). The next start re-reads those bytes only to compare checksums
/// and applies the full rules only to what follows.
///
/// The record names `events.ndjson` by device and inode: a journal that was replaced (restored,
/// rotated by hand) does not match it, and the whole journal is checked as if there were none.
/// Written atomically (temporary file, fsync, rename, fsync of the folder) so it never claims
/// bytes that are not durable: the worker writes it only for lines it has already fdatasynced.
public struct VerifiedPrefix: Sendable, Equatable, Codable {
    public struct Segment: Sendable, Equatable, Codable {
        /// The file name (no folder).
        public var name: String
        public var bytes: Int
        public var crc32c: UInt32
    }

    public var version = 1
    public var device: UInt64
    public var inode: UInt64
    /// Verified bytes at the start of `events.ndjson`, always whole lines.
    public var bytes: Int
    public var crc32c: UInt32
    /// Sealed segments, oldest first, all verified.
    public var segments: [Segment]
    public var state: JournalVerifier.State
    public var writtenAtUTC: String

    public init(
        device: UInt64, inode: UInt64, bytes: Int, crc32c: UInt32, segments: [Segment], state: JournalVerifier.State, writtenAtUTC: String
    ) {
        self.device = device
        self.inode = inode
        self.bytes = bytes
        self.crc32c = crc32c
        self.segments = segments
        self.state = state
        self.writtenAtUTC = writtenAtUTC
    }

    enum CodingKeys: String, CodingKey {
        case version, device, inode, bytes, crc32c, segments, state
        case writtenAtUTC = "written_at_utc"
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data()) + [UInt8(ascii: "\n")]
    }

    /// The record in `bytes`, or why it cannot be used.
    public static func decode(_ bytes: [UInt8]) -> Result<VerifiedPrefix, DecodeFailure> {
        do {
            let record = try JSONDecoder().decode(VerifiedPrefix.self, from: Data(bytes))
            guard record.version == 1 else { return .failure(DecodeFailure(detail: "version \(record.version) is not 1")) }
            guard record.bytes >= 0 else { return .failure(DecodeFailure(detail: "bytes \(record.bytes) is negative")) }
            return .success(record)
        } catch {
            return .failure(DecodeFailure(detail: "\(error)"))
        }
    }

    public struct DecodeFailure: Error, Sendable, Equatable, CustomStringConvertible {
        public var detail: String
        public var description: String { "not a verified-prefix record: \(detail)" }
    }

    /// Reads the record at `path`: nil when there is none.
    public static func read(_ path: String) -> Result<VerifiedPrefix, DecodeFailure>? {
        let bytes: [UInt8]?
        do { bytes = try FileIO.readFile(path, limit: 64 << 20) } catch {
            return .failure(DecodeFailure(detail: "\(error)"))
        }
        return bytes.map(decode)
    }

    /// Writes the record durably at `path`.
    public func write(_ path: String) throws(SystemError) {
        try FileIO.replaceAtomically(path, encoded())
    }
}
