/// A loop for unit tests whose time moves only when the test advances it, in the spirit of
/// SwiftNIO's `EmbeddedEventLoop`: timers scheduled on it fire, in deadline order and on the test's
/// thread, when `advance` moves the clock past their deadline. Nothing sleeps, so a test of an
/// hour of timers runs in microseconds.
///
/// It has timers and `onIdle` only, no descriptors or signals: code under test that only needs
/// timers takes a `TimerScheduling` (which `Reactor` provides too).
public final class ManualReactor: TimerScheduling {
    private var timers = TimerQueue()
    public private(set) var nowNanos: Int64
    /// Called by `runIdle()`, as `Reactor` calls its own when the loop has nothing more to do.
    public var onIdle: (() -> Void)?

    /// A loop whose clock starts at `nowNanos`.
    public init(nowNanos: Int64 = 0) { self.nowNanos = nowNanos }

    /// Whether any timer is scheduled.
    public var hasTimers: Bool { !timers.isEmpty }

    @discardableResult
    public func schedule(afterNanos nanos: Int64, _ body: @escaping () -> Void) -> Reactor.TimerID {
        timers.add(deadline: nowNanos + max(0, nanos), body)
    }

    public func cancel(_ timer: Reactor.TimerID) { timers.cancel(timer) }

    /// Moves the clock forward by `nanos`, running every timer that falls due on the way, each with
    /// the clock at its own deadline, including timers those timers schedule within the span.
    public func advance(byNanos nanos: Int64) {
        precondition(nanos >= 0, "time does not run backwards")
        advance(toNanos: nowNanos + nanos)
    }

    /// `advance(byNanos:)` in seconds.
    public func advance(bySeconds seconds: Double) { advance(byNanos: Int64(seconds * 1e9)) }

    /// Moves the clock to `target` (not backwards), running the timers due on the way in order.
    public func advance(toNanos target: Int64) {
        while let next = timers.removeEarliest(dueAt: max(target, nowNanos)) {
            nowNanos = max(nowNanos, next.deadline)
            next.body()
        }
        nowNanos = max(nowNanos, target)
    }

    /// Runs the timers due now (scheduled with no delay), without moving the clock.
    public func runDue() { advance(byNanos: 0) }

    /// Calls `onIdle`, as the real loop does once nothing more is ready.
    public func runIdle() { onIdle?() }
}
