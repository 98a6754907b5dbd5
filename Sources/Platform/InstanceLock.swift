#if canImport(Glibc)
import Glibc
#endif

/// Makes sure one watchdog or one supervisor serves a socket path: an `flock` on `PATH.lock`, next to the socket,
/// held for the process's life (the kernel releases it when the process dies). Taken before the
/// socket is bound, so two watchdogs starting at once never unlink each other's socket.
public final class InstanceLock {
    public let path: String
    private let fd: Int32

    /// Takes the lock; nil when another live process holds it. Throws when the file cannot be opened.
    public init?(socketPath: String) throws(SystemError) {
        path = socketPath + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw SystemError("flock \(path)", code: code)
        }
    }

    deinit { close(fd) }
}
