import Platform

#if canImport(Glibc)
import Glibc
#endif

/// The file system a lock folder is on, from `statfs(2)`: network file systems (NFS, SMB/CIFS,
/// Ceph, AFS, 9p, ...) and FUSE are refused at start, because `flock(2)` there may be emulated,
/// local to one client, or not exclude another host at all (docs/CONFIG.md, `paths.allow_network_lock_dir`).
public enum LockFolderFileSystem {
    /// `statfs` magic numbers of file systems whose flock the guard does not trust, with their names.
    static let untrusted: [UInt64: String] = [
        0x6969: "nfs", 0x517B: "smb", 0xFF53_4D42: "cifs", 0xFE53_4D42: "smb2", 0x6573_5546: "fuse",
        0x00C3_6400: "ceph", 0x5346_414F: "afs", 0x7375_7245: "coda", 0x564C: "ncp", 0x0102_1997: "9p",
        0x0116_1970: "gfs2", 0x7461_636F: "ocfs2", 0x0BD0_0BD0: "lustre", 0x4750_4653: "gpfs",
    ]

    /// The name of the untrusted file system `path` is on, or nil when it is a local one.
    /// A FUSE file system is named with its type from `/proc/self/mountinfo` when found (`fuse.powerloss`).
    public static func untrustedKind(of path: String) throws(MarketGuardFailure) -> String? {
        let magic: UInt64
        do throws(SystemError) { magic = try FileSystemMagic.of(path) } catch { throw .cannotUse(path: path, error) }
        guard let name = untrusted[magic] else { return nil }
        if name == "fuse", let type = mountType(of: path), type.hasPrefix("fuse") { return type }
        return name
    }

    /// Refuses `path` when it is on an untrusted file system, unless `allowed`.
    public static func check(_ path: String, allowed: Bool) throws(MarketGuardFailure) {
        guard !allowed, let kind = try untrustedKind(of: path) else { return }
        throw .fileSystem(path: path, kind: kind)
    }

    /// The file system type of the longest mount point that contains `path` (mountinfo field after " - ").
    static func mountType(of path: String) -> String? {
        guard let bytes = try? FileIO.readFile("/proc/self/mountinfo", limit: 4 << 20) else { return nil }
        var best: (length: Int, type: String)?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            let after = halves[1].split(separator: " ")
            guard fields.count >= 5, let type = after.first else { continue }
            let mountPoint = String(fields[4]).replacing("\\040", with: " ")
            let inside = mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
            if inside, mountPoint.count > (best?.length ?? -1) { best = (mountPoint.count, String(type)) }
        }
        return best?.type
    }
}
