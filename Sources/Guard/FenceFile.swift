import Platform
import Wire

/// The per-market fence file next to the lock (`canonical_ES.fence`): the last fence handed out and
/// the holder it went to, including the inode of the lock file that holder locked.
///
/// The fence only goes up: each acquisition writes `max(fence file, lock record) + 1`, replacing
/// the file atomically while the lock is held. The inode lets the next acquirer see a holder that
/// is still alive on a lock file somebody deleted or replaced (docs/robot-worker.md).
public struct FenceFile: Sendable, Equatable {
    public var fence: Int64
    public var runID: String
    public var pid: Int32
    public var host: String
    public var lockDevice: UInt64
    public var lockInode: UInt64

    public func encoded() -> [UInt8] {
        let object: JSONObject = [
            "fence": .int(fence), "run_id": .string(runID), "pid": .int(Int64(pid)), "host": .string(host),
            "lock_device": .int(Int64(bitPattern: lockDevice)), "lock_inode": .int(Int64(bitPattern: lockInode)),
        ]
        var out: [UInt8] = []
        object.write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Parses a fence file; nil when the bytes are not a complete fence record.
    public static func parse(_ bytes: [UInt8]) -> FenceFile? {
        var trimmed = bytes
        while let last = trimmed.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: " ") { trimmed.removeLast() }
        guard case .object(let o) = try? JSONParser.parse(trimmed),
            let fence = o["fence"]?.intValue, fence > 0,
            let runID = o["run_id"]?.stringValue,
            let pid = o["pid"]?.intValue, pid > 0, pid <= Int64(Int32.max),
            let host = o["host"]?.stringValue,
            let dev = o["lock_device"]?.intValue, let ino = o["lock_inode"]?.intValue
        else { return nil }
        return FenceFile(
            fence: fence, runID: runID, pid: Int32(pid), host: host, lockDevice: UInt64(bitPattern: dev),
            lockInode: UInt64(bitPattern: ino))
    }
}
