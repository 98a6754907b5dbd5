import CShim

#if canImport(Glibc)
import Glibc
#endif

/// Unix-domain stream sockets: listen, connect, accept, peer credentials. Every descriptor is
/// close-on-exec; `listen`/`accept`/`connect(nonBlocking: true)` return non-blocking ones.
public enum UnixSocket {
    /// The credentials of the process at the other end of a connected socket (SO_PEERCRED).
    public struct Credentials: Sendable, Equatable {
        public var pid: Int32
        public var uid: UInt32
        public var gid: UInt32
    }

    /// Binds and listens on `path` with file mode `mode`. Refuses (EADDRINUSE) when a live process
    /// already accepts connections there; a leftover socket file nobody serves is replaced.
    public static func listen(path: String, mode: mode_t = 0o660, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        if isServing(path) { throw SystemError("bind \(path)", code: EADDRINUSE) }
        let fd = try bind(path: path, type: Int32(SOCK_STREAM.rawValue), mode: mode)
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = SystemError("listen \(path)")
            close(fd)
            throw e
        }
        return fd
    }

    /// A new socket of `type` (close-on-exec, non-blocking) bound to `path` with file mode `mode`;
    /// a socket file left at the path is replaced, any other file refused (EEXIST).
    public static func bind(path: String, type: Int32, mode: mode_t) throws(SystemError) -> Int32 {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemError("bind \(path): not a socket", code: EEXIST) }
            unlink(path)
        }
        let fd = socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        // The mode is set by umask at bind time, so no other user ever sees a wider socket.
        let old = umask(0o777 & ~mode)
        let bound = withAddress(path) { Glibc.bind(fd, $0, $1) }
        umask(old)
        guard let bound else {
            close(fd)
            throw SystemError("bind \(path): longer than \(maxPathBytes) bytes", code: ENAMETOOLONG)
        }
        guard bound == 0 else {
            let e = SystemError("bind \(path)")
            close(fd)
            throw e
        }
        return fd
    }

    /// True when something accepts connections on `path` right now.
    public static func isServing(_ path: String) -> Bool {
        guard let fd = try? connect(path: path, nonBlocking: false) else { return false }
        close(fd)
        return true
    }

    /// Connects to `path`. With `nonBlocking`, the returned descriptor is non-blocking (a Unix
    /// stream connect completes or fails at once; EAGAIN means the listener's backlog is full).
    public static func connect(path: String, nonBlocking: Bool) throws(SystemError) -> Int32 {
        var flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { flags |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(AF_UNIX, flags, 0)
        guard fd >= 0 else { throw SystemError("socket") }
        guard let rc = withAddress(path, { Glibc.connect(fd, $0, $1) }) else {
            preconditionFailure("socket path longer than \(maxPathBytes) bytes: \(path)")
        }
        guard rc == 0 else {
            let e = SystemError("connect \(path)")
            close(fd)
            throw e
        }
        return fd
    }

    /// Accepts one pending connection (non-blocking, close-on-exec), or nil when none is pending.
    public static func accept(_ listener: Int32) -> Int32? {
        let fd = cshim_accept_nonblocking(listener)
        return fd >= 0 ? fd : nil
    }

    public static func peerCredentials(_ fd: Int32) -> Credentials? {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard cshim_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        return Credentials(pid: pid, uid: uid, gid: gid)
    }

    /// The longest socket path, in bytes (`sun_path` holds it and a NUL).
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Calls `body` with `path` as a Unix socket address, for bind, connect and sendto; nil,
    /// without calling it, when the path is longer than `maxPathBytes`.
    public static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathBytes else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
