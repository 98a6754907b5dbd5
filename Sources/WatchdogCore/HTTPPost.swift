import Platform
import RobotConfig

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 POST over a plain TCP socket, blocking the calling thread for at most `timeout`
/// seconds in all (name lookup aside): for the alert delivery threads, which do nothing else.
///
/// Why not a client library: the watchdog posts a few small JSON documents when alerts change, to
/// a receiver on this host or the local network, from threads of its own; a socket, a request and
/// a status line are about a hundred lines, while async-http-client brings its own event loop,
/// TLS and a dozen packages into the build of a process that must stay small. TLS, when wanted, is
/// a local proxy's job (docs/CONFIG.md, "alerting").
enum HTTPPost {
    struct Failure: Error, Sendable, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Posts `body` as `application/json`; returns the answer's status code (any code: the caller
    /// decides what counts as delivered).
    static func send(_ body: [UInt8], to url: HTTPURL, timeout: Double) -> Result<Int, Failure> {
        let deadline = MonotonicClock.nowNanos() + Int64(timeout * 1e9)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(Failure("cannot resolve \(url.host): \(String(cString: gai_strerror(rc)))"))
        }
        defer { freeaddrinfo(first) }
        var lastError = Failure("no address for \(url.host)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            switch connect(a.pointee, deadline: deadline) {
            case .failure(let e): lastError = e
            case .success(let fd):
                defer { close(fd) }
                return exchange(fd, request(body, url), deadline: deadline)
            }
        }
        return .failure(lastError)
    }

    static func request(_ body: [UInt8], _ url: HTTPURL) -> [UInt8] {
        let host = url.host.contains(":") ? "[\(url.host)]" : url.host
        let head =
            "POST \(url.path) HTTP/1.1\r\nHost: \(host):\(url.port)\r\nUser-Agent: robot-watchdog\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    private static func remainingMillis(_ deadline: Int64) -> Int32 {
        Int32(clamping: max(0, (deadline - MonotonicClock.nowNanos()) / 1_000_000))
    }

    private static func connect(_ a: addrinfo, deadline: Int64) -> Result<Int32, Failure> {
        let fd = socket(a.ai_family, a.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), a.ai_protocol)
        guard fd >= 0 else { return .failure(Failure("\(SystemError("socket"))")) }
        if Glibc.connect(fd, a.ai_addr, a.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let e = SystemError("connect")
                close(fd)
                return .failure(Failure("\(e)"))
            }
            guard wait(fd, Int16(POLLOUT), deadline) else {
                close(fd)
                return .failure(Failure("connect: timed out"))
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(fd)
                return .failure(Failure("\(SystemError("connect", code: error))"))
            }
        }
        return .success(fd)
    }

    /// Waits until `fd` is ready for `events` or the deadline passes.
    private static func wait(_ fd: Int32, _ events: Int16, _ deadline: Int64) -> Bool {
        while true {
            let left = remainingMillis(deadline)
            guard left > 0 else { return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, left)
            if n < 0, errno == EINTR { continue }
            return n > 0
        }
    }

    private static func exchange(_ fd: Int32, _ request: [UInt8], deadline: Int64) -> Result<Int, Failure> {
        var sent = 0
        while sent < request.count {
            guard wait(fd, Int16(POLLOUT), deadline) else { return .failure(Failure("send: timed out")) }
            let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failure(Failure("\(SystemError("send"))"))
            }
            sent += n
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !answer.contains(UInt8(ascii: "\n")), answer.count < 8192 {
            guard wait(fd, Int16(POLLIN), deadline) else { return .failure(Failure("no answer within the timeout")) }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .failure(Failure("\(SystemError("recv"))"))
            }
            if n == 0 { break }
            answer.append(contentsOf: chunk[0..<n])
        }
        guard let status = statusCode(answer) else {
            return .failure(Failure("not an HTTP answer: \(String(decoding: answer.prefix(60), as: UTF8.self).debugDescription)"))
        }
        return .success(status)
    }

    /// The code of an `HTTP/1.x NNN ...` status line.
    static func statusCode(_ answer: [UInt8]) -> Int? {
        let line = String(decoding: answer.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]) else { return nil }
        return code
    }
}
