import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A blocking request/response client for operator commands: connect, write lines, read lines,
/// each step bounded by a deadline.
public final class LineClient {
    public let path: String
    private let fd: Int32
    private var framer = LineFramer(maxLineBytes: 64 << 20)
    private var ready: [[UInt8]] = []

    /// Connects to `path`; throws when nothing serves it.
    public init(path: String) throws(SystemError) {
        self.path = path
        fd = try UnixSocket.connect(path: path, nonBlocking: false)
    }

    deinit { close(fd) }

    /// Writes `line` and its newline.
    public func send(_ line: [UInt8]) throws(SystemError) {
        var bytes = line
        if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("send \(path)")
            }
            done += n
        }
    }

    /// The next line (newline excluded), waiting at most `timeoutSeconds`.
    public func readLine(timeoutSeconds: Double) throws(SystemError) -> [UInt8] {
        let deadline = MonotonicClock.nowNanos() + Int64(timeoutSeconds * 1e9)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while ready.isEmpty {
            let left = deadline - MonotonicClock.nowNanos()
            guard left > 0 else { throw SystemError("read \(path): no answer within \(timeoutSeconds) s", code: ETIMEDOUT) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&p, 1, Int32(min(left / 1_000_000 + 1, 60_000)))
            if rc < 0, errno != EINTR { throw SystemError("poll \(path)") }
            if rc <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read \(path)")
            }
            if n == 0 { throw SystemError("read \(path): the connection was closed", code: ECONNRESET) }
            chunk.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            framer.drain { frame in
                if case .line(let l) = frame { ready.append(Array(l)) }
            }
        }
        return ready.removeFirst()
    }
}
