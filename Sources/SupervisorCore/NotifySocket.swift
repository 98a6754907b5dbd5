import CShim
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// The receiving end of sd_notify: a datagram socket with SO_PASSCRED, so each datagram carries the
/// sender's pid (SCM_CREDENTIALS) and the supervisor knows which worker sent it.
///
/// Bind it only after the control socket is held (the single-instance guard): binding replaces a
/// socket file left at the path.
final class NotifySocket {
    let path: String
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 4096)

    /// Binds `path` with mode 0660; throws when the socket cannot be created or bound.
    init(path: String) throws(SystemError) {
        self.path = path
        let fd = try UnixSocket.bind(path: path, type: Int32(SOCK_DGRAM.rawValue), mode: 0o660)
        guard cshim_enable_passcred(fd) == 0 else {
            let e = SystemError("bind \(path)")
            close(fd)
            throw e
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Every datagram waiting now, with its sender's pid (0 when it carried no credentials).
    func receiveAll() -> [(pid: Int32, message: NotifyMessage)] {
        var out: [(Int32, NotifyMessage)] = []
        while true {
            var pid: pid_t = 0
            var uid: uid_t = 0
            let n = buffer.withUnsafeMutableBytes { cshim_recv_with_credentials(fd, $0.baseAddress, $0.count, &pid, &uid) }
            if n < 0 {
                if errno == EINTR || errno == EMSGSIZE { continue }
                return out
            }
            out.append((pid, NotifyMessage(Array(buffer[0..<n]))))
        }
    }

    /// Removes the socket file; call it when the supervisor exits.
    func unlinkPath() { unlink(path) }
}
