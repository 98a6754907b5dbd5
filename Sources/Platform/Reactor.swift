import CShim

#if canImport(Glibc)
import Glibc
#endif

/// A single-threaded event loop over epoll: file descriptors, timers and signals.
///
/// Every handler runs on the thread that called `run()`, one at a time, so the state they touch
/// needs no locks. A handler must not block: the loop is also what sends `WATCHDOG=1`, so a
/// handler that hangs is exactly what the parent's watchdog is there to catch.
///
/// Signals given to `onSignals` are blocked for the whole process and read from a signalfd, so a
/// signal is handled like any other event, never in an async-signal context.
public final class Reactor {
    public struct Readiness: Sendable {
        public var readable: Bool
        public var writable: Bool
        /// The peer hung up or the descriptor is in error; reading returns 0 or the error.
        public var hangup: Bool
    }

    /// Identifies a scheduled timer for `cancel`.
    public struct TimerID: Hashable, Sendable { let raw: UInt64 }

    private let epollFD: Int32
    private var handlers: [Int32: (Readiness) -> Void] = [:]
    private var timers = TimerQueue()
    /// Now, in nanoseconds: the monotonic clock unless a test injected another.
    private let clock: () -> Int64
    private var running = false
    private var signalFD: Int32 = -1
    /// Called when the loop has handled every descriptor that was ready and none is ready any
    /// more, before it blocks: where work that batches what the handlers did belongs (the
    /// watchdog's group commit of its snapshot). Not called while descriptors keep being ready.
    public var onIdle: (() -> Void)?
    /// Asked after handlers ran, before the loop looks (without blocking) whether more is ready:
    /// false skips that look and `onIdle` this time (there is nothing to batch), saving a system
    /// call per wakeup. Nil: always look.
    public var idleWanted: (() -> Bool)?
    /// Asked after a turn that handled descriptors: a positive number of nanoseconds makes the
    /// loop rest that long (never past its next timer) before it looks at its descriptors again,
    /// so what becomes ready meanwhile is handled in one wakeup instead of one each (the watchdog
    /// at rest: many markets' heartbeats). Nil or 0: look again at once.
    public var restNanos: (() -> Int64)?

    /// A loop whose timers run on `clock` (nanoseconds; the monotonic clock by default). A test may
    /// inject a clock it moves itself: a timer is due once that clock has reached its deadline,
    /// whatever the real time. For a loop without descriptors whose time moves only when the test
    /// says, see `ManualReactor`.
    public init(clock: @escaping () -> Int64 = MonotonicClock.nowNanos) throws(SystemError) {
        self.clock = clock
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SystemError("epoll_create1") }
    }

    deinit {
        close(epollFD)
        if signalFD >= 0 { close(signalFD) }
    }

    /// Calls `handler` whenever `fd` is ready for what is asked. Replaces an earlier watch of `fd`.
    public func watch(_ fd: Int32, readable: Bool = true, writable: Bool = false, _ handler: @escaping (Readiness) -> Void) {
        var event = epoll_event()
        event.events = Self.mask(readable: readable, writable: writable)
        event.data.fd = fd
        let op = handlers[fd] == nil ? EPOLL_CTL_ADD : EPOLL_CTL_MOD
        handlers[fd] = handler
        if epoll_ctl(epollFD, op, fd, &event) != 0 {
            preconditionFailure("epoll_ctl(\(fd)): \(SystemError.lastMessage())")
        }
    }

    /// Changes what `fd` is watched for, keeping its handler.
    public func modify(_ fd: Int32, readable: Bool, writable: Bool) {
        guard handlers[fd] != nil else { return }
        var event = epoll_event()
        event.events = Self.mask(readable: readable, writable: writable)
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd`. Call it before closing `fd`.
    public func unwatch(_ fd: Int32) {
        guard handlers.removeValue(forKey: fd) != nil else { return }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
    }

    /// Now on this loop's clock, in nanoseconds.
    public var nowNanos: Int64 { clock() }

    /// Runs `body` once, `nanos` from now on the loop's clock.
    @discardableResult
    public func schedule(afterNanos nanos: Int64, _ body: @escaping () -> Void) -> TimerID {
        timers.add(deadline: clock() + max(0, nanos), body)
    }

    // `schedule(afterSeconds:)` comes with `TimerScheduling`.

    /// Cancels a timer that has not run yet; does nothing otherwise.
    public func cancel(_ timer: TimerID) {
        timers.cancel(timer)
    }

    /// Blocks `signals` for the process and calls `handler` with each one that arrives.
    public func onSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws(SystemError) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        guard pthread_sigmask(SIG_BLOCK, &set, nil) == 0 else { throw SystemError("pthread_sigmask") }
        if signalFD >= 0 {
            unwatch(signalFD)
            close(signalFD)
        }
        let fd = signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        guard fd >= 0 else { throw SystemError("signalfd") }
        signalFD = fd
        watch(fd) { _ in
            var info = signalfd_siginfo()
            while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
                handler(Int32(info.ssi_signo))
            }
        }
    }

    /// Runs until `stop()`.
    public func run() {
        running = true
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        // Handlers ran since the last idle call: look (without blocking) whether more is ready
        // before calling `onIdle` and blocking.
        var handledSinceIdle = false
        while running {
            let polling = handledSinceIdle && onIdle != nil && idleWanted?() != false
            let timeout = polling ? 0 : nextTimeoutMillis()
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, Int32($0.count), timeout) }
            if n < 0 {
                if errno == EINTR { continue }
                preconditionFailure("epoll_wait: \(SystemError.lastMessage())")
            }
            if n == 0, polling {
                handledSinceIdle = false
                onIdle?()
            }
            if n > 0 { handledSinceIdle = true }
            for i in 0..<Int(n) {
                let fd = events[i].data.fd
                let bits = events[i].events
                guard let handler = handlers[fd] else { continue }
                handler(
                    Readiness(
                        readable: bits & EPOLLIN.rawValue != 0,
                        writable: bits & EPOLLOUT.rawValue != 0,
                        hangup: bits & (EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0))
                if !running { return }
            }
            runDueTimers()
            if n > 0, running, let restNanos { rest(restNanos()) }
        }
    }

    /// Sleeps `nanos`, or until the next timer is due if that is sooner.
    private func rest(_ nanos: Int64) {
        var nanos = nanos
        if let earliest = timers.earliestDeadline { nanos = min(nanos, earliest - clock()) }
        guard nanos > 0 else { return }
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while clock_nanosleep(CLOCK_MONOTONIC, 0, &request, &remaining) == EINTR { request = remaining }
    }

    /// Makes `run()` return after the handler that called it.
    public func stop() { running = false }

    private func runDueTimers() {
        for t in timers.removeDue(at: clock()) where running { t.body() }
    }

    private func nextTimeoutMillis() -> Int32 {
        guard let earliest = timers.earliestDeadline else { return -1 }
        let delta = earliest - clock()
        if delta <= 0 { return 0 }
        return Int32(min(Int64(Int32.max), (delta + 999_999) / 1_000_000))
    }

    private static func mask(readable: Bool, writable: Bool) -> UInt32 {
        var m = EPOLLRDHUP.rawValue
        if readable { m |= EPOLLIN.rawValue }
        if writable { m |= EPOLLOUT.rawValue }
        return m
    }
}

/// A failed system call: what was called and `errno`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var code: Int32

    public init(_ call: String, code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call): \(String(cString: strerror(code)))" }

    static func lastMessage() -> String { String(cString: strerror(errno)) }
}
