#if canImport(Glibc)
import Glibc
#endif

/// The kernel's table of held file locks (`/proc/locks`), asked which processes hold an flock on
/// a given inode. This is how the worker tells, without any timestamp, whether the holder named
/// by a record still holds the lock, including on a lock file that was deleted or replaced.
///
/// A line reads `1: FLOCK  ADVISORY  WRITE 4242 fe:00:16220186 0 EOF` (pid, then
/// major:minor:inode with major and minor in hex); waiters (`->`) are not holders.
public enum FlockTable {
    /// Pids holding an `flock(2)` lock on the inode `inode` of device `device`.
    public static func holders(device: UInt64, inode: UInt64, table: String? = nil) -> [Int32] {
        guard let text = table ?? readProcLocks() else { return [] }
        let major = (device >> 8) & 0xfff | (device >> 32) & ~0xfff
        let minor = device & 0xff | (device >> 12) & ~0xff
        var pids: [Int32] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor,
                UInt64(id[2]) == inode, let pid = Int32(fields[4])
            else { continue }
            pids.append(pid)
        }
        return pids
    }

    private static func readProcLocks() -> String? {
        let fd = open("/proc/locks", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
