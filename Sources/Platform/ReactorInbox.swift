import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Messages from other threads to a `Reactor`'s thread: any thread `post`s a `Sendable` value;
/// the loop wakes on a pipe and hands every posted value, in order, to `handler` on its own
/// thread. The poster never waits for the loop (a full pipe only means a wake-up is pending).
public final class ReactorInbox<Message: Sendable>: Sendable {
    private let queue = Mutex<[Message]>([])
    private let readEnd: Int32
    private let writeEnd: Int32

    /// Watches the pipe on `reactor`; `handler` runs on the loop for each message.
    public init(reactor: Reactor, _ handler: @escaping (Message) -> Void) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SystemError("pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
        let fd = readEnd
        reactor.watch(fd) { [weak self] _ in
            var sink = [UInt8](repeating: 0, count: 64)
            while read(fd, &sink, sink.count) > 0 {}
            guard let self else { return }
            let messages = self.queue.withLock { q -> [Message] in
                let taken = q
                q.removeAll(keepingCapacity: true)
                return taken
            }
            for m in messages { handler(m) }
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// From any thread: queues `message` and wakes the loop.
    public func post(_ message: Message) {
        let first = queue.withLock { q -> Bool in
            q.append(message)
            return q.count == 1
        }
        if first {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
    }
}
