import Foundation
import Platform
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Writes the watchdog's snapshots on a thread of its own, so the event loop never waits for the
/// disk: the loop encodes the state (microseconds) and hands the bytes over; the write, fsync,
/// rename and fsync of the folder (about a millisecond on ext4, far more on a busy disk) happen
/// here while the loop goes on applying events and answering status. At most one write is in
/// flight. Its end reaches the loop as a readable pipe, so `done` runs on the loop's thread.
///
/// ```
///  loop: encode ─▶ start(bytes) ───────────────────────────────▶ done(result) ─▶ acks
///  thread:              write, fsync, rename, fsync(folder) ─▶ pipe
/// ```
final class SnapshotWriter {
    /// What the loop and the thread share; nothing else crosses between them.
    private final class Channel: Sendable {
        let file: SnapshotFile
        /// The job, its result, and the CPU time the thread spent on it (nanoseconds).
        let slots = Mutex<(job: [UInt8]?, result: Result<Void, SystemError>?, cpu: Int64)>((nil, nil, 0))
        /// The loop writes a byte per job; closing it ends the thread.
        let requestRead: Int32, requestWrite: Int32
        /// The thread writes a byte per finished job; the loop watches it.
        let doneRead: Int32, doneWrite: Int32

        init(file: SnapshotFile) throws(SystemError) {
            let request = try Self.pipe(nonBlockingRead: false)
            let done: (Int32, Int32)
            do { done = try Self.pipe(nonBlockingRead: true) } catch {
                close(request.0)
                close(request.1)
                throw error
            }
            self.file = file
            (requestRead, requestWrite, doneRead, doneWrite) = (request.0, request.1, done.0, done.1)
        }

        /// A close-on-exec pipe (read end, write end).
        private static func pipe(nonBlockingRead: Bool) throws(SystemError) -> (Int32, Int32) {
            var fds: [Int32] = [-1, -1]
            guard Glibc.pipe(&fds) == 0 else { throw SystemError("pipe") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            if nonBlockingRead { _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) }
            return (fds[0], fds[1])
        }

        /// This thread's CPU time so far.
        static func threadCPUNanos() -> Int64 {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        }

        /// The thread's body: one job per request byte until the request pipe closes.
        func serve() {
            while true {
                var byte: UInt8 = 0
                let n = read(requestRead, &byte, 1)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                guard
                    let job = slots.withLock({ slots in
                        defer { slots.job = nil }
                        return slots.job
                    })
                else { continue }
                let result: Result<Void, SystemError>
                let cpuBefore = Self.threadCPUNanos()
                do {
                    try file.write(job)
                    result = .success(())
                } catch { result = .failure(error) }
                let cpu = Self.threadCPUNanos() - cpuBefore
                slots.withLock {
                    $0.result = result
                    $0.cpu = cpu
                }
                var one: UInt8 = 1
                while write(doneWrite, &one, 1) < 0, errno == EINTR {}
            }
            close(requestRead)
            close(doneWrite)
        }
    }

    private let channel: Channel
    private let reactor: Reactor
    /// Runs on the reactor's thread after each write.
    var done: (Result<Void, SystemError>) -> Void
    /// A write is in flight (loop side).
    private(set) var isBusy = false
    /// The CPU time the thread spent on the last finished write, in nanoseconds (`GroupCommit`'s
    /// spacing counts it).
    private(set) var lastWriteCPUNanos: Int64 = 0

    /// Starts the thread. `done` runs on the reactor's thread after each write.
    init(file: SnapshotFile, reactor: Reactor, done: @escaping (Result<Void, SystemError>) -> Void = { _ in }) throws(SystemError) {
        channel = try Channel(file: file)
        self.reactor = reactor
        self.done = done
        let channel = channel
        let thread = Thread { channel.serve() }
        thread.name = "snapshot-writer"
        thread.start()
        reactor.watch(channel.doneRead) { [unowned self] _ in self.finished() }
    }

    /// Hands `data` to the thread. Only when not `isBusy`.
    func start(_ data: [UInt8]) {
        precondition(!isBusy, "a snapshot write is already in flight")
        isBusy = true
        channel.slots.withLock { $0.job = data }
        var one: UInt8 = 1
        while write(channel.requestWrite, &one, 1) < 0, errno == EINTR {}
    }

    /// Waits for the write in flight, if any, without calling `done`, and ends the thread: for
    /// the final snapshot, which the loop then writes itself.
    func finish() {
        if isBusy {
            var p = pollfd(fd: channel.doneRead, events: Int16(POLLIN), revents: 0)
            while poll(&p, 1, -1) < 0, errno == EINTR {}
            _ = takeResult()
        }
        reactor.unwatch(channel.doneRead)
        close(channel.requestWrite)
        close(channel.doneRead)
    }

    private func finished() {
        guard let result = takeResult() else { return }
        done(result)
    }

    private func takeResult() -> Result<Void, SystemError>? {
        var bytes = [UInt8](repeating: 0, count: 16)
        while read(channel.doneRead, &bytes, bytes.count) > 0 {}
        guard
            let (result, cpu) = channel.slots.withLock({ slots in
                defer { slots.result = nil }
                return slots.result.map { ($0, slots.cpu) }
            })
        else { return nil }
        isBusy = false
        lastWriteCPUNanos = cpu
        return result
    }
}
