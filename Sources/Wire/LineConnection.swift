import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking, newline-framed connection driven by a `Reactor`.
///
/// Reads are framed by a `LineFramer` (so a peer can never make it buffer more than one line over
/// the limit) and handed to `onFrame`. `send` never blocks: what the socket does not take at once
/// waits in an output buffer and goes out when the socket is writable; once the peer has closed
/// (a send fails with EPIPE), output is dropped but lines it sent before are still read and
/// delivered. `onClose` is called once, when the stream ends, on an I/O error, or after `close()`.
public final class LineConnection {
    public let fd: Int32
    public let peer: UnixSocket.Credentials?
    public var onFrame: ((LineFramer.Frame) -> Void)?
    public var onClose: ((SystemError?) -> Void)?
    /// Called when output that had to wait for the socket has all been taken by it (a sender that
    /// paused on a full buffer resumes here instead of polling).
    public var onDrained: (() -> Void)?
    /// Called after the frames of one read have all gone to `onFrame` (a place to answer a batch).
    public var onReadHandled: (() -> Void)?

    private let reactor: Reactor
    private var framer: LineFramer
    private var output: [UInt8] = []
    private var outputStart = 0
    private var watchingWrites = false
    /// A send failed because the peer closed: nothing more is written, reading goes on to EOF.
    private var peerStoppedReading = false
    public private(set) var isClosed = false
    /// Bytes read in all, for the caller's accounting.
    public private(set) var bytesRead = 0

    /// Takes ownership of `fd` (non-blocking) and starts reading.
    public init(fd: Int32, reactor: Reactor, maxLineBytes: Int = WireFormat.maxLineBytes) {
        self.fd = fd
        self.reactor = reactor
        self.framer = LineFramer(maxLineBytes: maxLineBytes)
        self.peer = UnixSocket.peerCredentials(fd)
        reactor.watch(fd) { [weak self] readiness in self?.ready(readiness) }
    }

    deinit {
        if !isClosed {
            reactor.unwatch(fd)
            Glibc.close(fd)
        }
    }

    /// Bytes queued and not yet taken by the socket.
    public var pendingOutput: Int { output.count - outputStart }

    /// Queues `bytes` and writes as much as the socket takes now.
    public func send(_ bytes: [UInt8]) {
        guard !isClosed, !peerStoppedReading else { return }
        output.append(contentsOf: bytes)
        flush()
    }

    /// Stops reading, drops queued output, closes the descriptor and calls `onClose(nil)`.
    public func close() { finish(nil) }

    private func ready(_ readiness: Reactor.Readiness) {
        if readiness.writable { flush() }
        if isClosed { return }
        if readiness.readable || readiness.hangup { readOnce() }
    }

    private static let chunkSize = 64 * 1024
    private var chunk = [UInt8](repeating: 0, count: LineConnection.chunkSize)

    private func readOnce() {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            bytesRead += n
            chunk.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            framer.drain { frame in
                guard !isClosed else { return }
                onFrame?(frame)
            }
            if !isClosed { onReadHandled?() }
        } else if n == 0 {
            finish(nil)
        } else if errno != EAGAIN && errno != EINTR {
            finish(SystemError("read"))
        }
    }

    private func flush() {
        while outputStart < output.count {
            let n = output.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + outputStart, $0.count - outputStart, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                outputStart += n
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EPIPE || errno == ECONNRESET {
                // The peer closed its end; what it sent before may still be unread. Drop the
                // output and keep reading to the end of the stream, which closes the connection.
                peerStoppedReading = true
                output = []
                outputStart = 0
                if watchingWrites {
                    watchingWrites = false
                    reactor.modify(fd, readable: true, writable: false)
                }
                return
            }
            if n < 0, errno == EAGAIN {
                if !watchingWrites {
                    watchingWrites = true
                    reactor.modify(fd, readable: true, writable: true)
                }
                return
            }
            finish(SystemError("send"))
            return
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        outputStart = 0
        if watchingWrites {
            watchingWrites = false
            reactor.modify(fd, readable: true, writable: false)
            onDrained?()
        }
    }

    private func finish(_ error: SystemError?) {
        guard !isClosed else { return }
        isClosed = true
        reactor.unwatch(fd)
        Glibc.close(fd)
        output = []
        onClose?(error)
    }
}
