import Platform
import Wire

/// The holder record written in place on a locked lock file: who holds the market.
///
/// ```
/// {"run_id":"ES-20261121T071500Z-4f3a9c1b","acquired_at_utc":"2026-11-21T07:15:00.123456Z",
///  "canonical_instrument":"ES","pid":4242,"host":"trader-1","fence":7}
/// ```
/// An empty file means "released cleanly". Anything that does not parse as a complete record is
/// "holder unknown": reported, never treated as free.
public struct LockRecord: Sendable, Equatable {
    public var runID: String
    public var acquiredAtUTC: String
    public var canonical: String
    public var pid: Int32
    public var host: String
    public var fence: Int64
    /// The holder's home folder (its lock folder), written by the host-wide guard so a refused
    /// worker can name it; absent in a home lock folder's records.
    public var home: String? = nil

    public func encoded() -> [UInt8] {
        var object: JSONObject = [
            "run_id": .string(runID), "acquired_at_utc": .string(acquiredAtUTC), "canonical_instrument": .string(canonical),
            "pid": .int(Int64(pid)), "host": .string(host), "fence": .int(fence),
        ]
        if let home { object["home"] = .string(home) }
        var out: [UInt8] = []
        object.write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// What a lock file's bytes say about its last holder.
    public enum Contents: Sendable, Equatable {
        /// Empty: the last holder released the lock cleanly (or there never was one).
        case released
        case record(LockRecord)
        /// Bytes that are not a complete record (torn write, damage): holder unknown.
        case unreadable(byteCount: Int)
    }

    public static func parse(_ bytes: [UInt8]) -> Contents {
        if bytes.isEmpty { return .released }
        var trimmed = bytes
        while let last = trimmed.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: " ") { trimmed.removeLast() }
        guard case .object(let o) = try? JSONParser.parse(trimmed),
            let runID = o["run_id"]?.stringValue, Identifier.isValidRunID(runID),
            let at = o["acquired_at_utc"]?.stringValue, UTCTimestamp.parse(at) != nil,
            let canonical = o["canonical_instrument"]?.stringValue,
            let pid = o["pid"]?.intValue, pid > 0, pid <= Int64(Int32.max),
            let host = o["host"]?.stringValue,
            let fence = o["fence"]?.intValue, fence > 0
        else { return .unreadable(byteCount: bytes.count) }
        return .record(
            LockRecord(
                runID: runID, acquiredAtUTC: at, canonical: canonical, pid: Int32(pid), host: host, fence: fence,
                home: o["home"]?.stringValue))
    }
}
