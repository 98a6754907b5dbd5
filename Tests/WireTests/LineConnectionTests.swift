import Glibc
import Testing

@testable import Platform
@testable import Wire

/// `LineConnection` at the end of a stream.
@Suite struct LineConnectionTests {
    @Test func linesSentBeforeThePeerClosedAreDeliveredEvenAfterASendFails() throws {
        var fds: [Int32] = [-1, -1]
        #expect(
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        let peer: [UInt8] = Array("first\nsecond\n".utf8)
        #expect(peer.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == peer.count)
        close(fds[1])

        let reactor = try Reactor()
        let connection = LineConnection(fd: fds[0], reactor: reactor)
        var lines: [String] = []
        var closeError: SystemError?
        var closed = false
        connection.onFrame = { frame in
            if case .line(let bytes) = frame { lines.append(String(decoding: bytes, as: UTF8.self)) }
        }
        connection.onClose = { error in
            closed = true
            closeError = error
            reactor.stop()
        }
        // The peer is gone: this send fails (EPIPE) before anything was read.
        connection.send(Array("ack\n".utf8))
        reactor.schedule(afterSeconds: 5) { reactor.stop() }
        if !closed { reactor.run() }
        #expect(lines == ["first", "second"])
        #expect(closed)
        #expect(closeError == nil, "\(String(describing: closeError))")
    }
}
