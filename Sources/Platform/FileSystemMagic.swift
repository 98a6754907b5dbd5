import CShim

/// The `statfs(2)` magic number (`f_type`) of the file system a path is on (`NFS_SUPER_MAGIC`,
/// `FUSE_SUPER_MAGIC`, ...), read through CShim because Glibc's module does not carry `statfs`.
public enum FileSystemMagic {
    public static func of(_ path: String) throws(SystemError) -> UInt64 {
        var type: UInt64 = 0
        guard cshim_fs_type(path, &type) == 0 else { throw SystemError("statfs") }
        return type
    }
}
