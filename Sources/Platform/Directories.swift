#if canImport(Glibc)
import Glibc
#endif

/// Folders the stack creates: the lock, state and socket folders of the configuration.
public enum Directories {
    /// `mkdir -p path` with `mode` for what it creates; throws the failing call and errno (a
    /// component that is a file, a read-only file system, permissions). Succeeds when `path`
    /// already is a folder. Each folder it creates is made durable: its parent is fsynced, so the
    /// folder (and what is later synced inside it) survives a power loss.
    public static func make(_ path: String, mode: mode_t = 0o750) throws(SystemError) {
        var current = ""
        for part in path.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + part
            if mkdir(current, mode) == 0 {
                try syncFolder(parent)
            } else if errno != EEXIST {
                throw SystemError("mkdir \(current)")
            }
        }
        var st = stat()
        guard stat(path, &st) == 0 else { throw SystemError("stat \(path)") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw SystemError("mkdir \(path)", code: ENOTDIR) }
    }

    /// fsyncs a folder, so the names created or renamed in it survive a power loss.
    public static func syncFolder(_ path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync \(path)") }
    }
}
