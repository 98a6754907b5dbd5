/// What code that only needs timers asks of its loop: the time, scheduling and cancelling. Both
/// `Reactor` and `ManualReactor` provide it, so such code runs on the real loop in a process and
/// on the manual one in a unit test, where time moves only when the test says.
public protocol TimerScheduling: AnyObject {
    /// Now on the loop's clock, in nanoseconds.
    var nowNanos: Int64 { get }
    /// Runs `body` once, `nanos` from now on the loop's clock.
    @discardableResult func schedule(afterNanos nanos: Int64, _ body: @escaping () -> Void) -> Reactor.TimerID
    /// Cancels a timer that has not run yet; does nothing otherwise.
    func cancel(_ timer: Reactor.TimerID)
}

extension TimerScheduling {
    /// Runs `body` once, `seconds` from now.
    @discardableResult
    public func schedule(afterSeconds seconds: Double, _ body: @escaping () -> Void) -> Reactor.TimerID {
        schedule(afterNanos: Int64(seconds * 1e9), body)
    }
}

extension Reactor: TimerScheduling {}
