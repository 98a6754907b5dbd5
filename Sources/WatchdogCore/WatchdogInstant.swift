import Platform
import Wire

/// A moment as the watchdog's core sees it: the monotonic clock (ages, timeouts) and the wall
/// clock (timestamps shown to people). The shell passes `now()`; tests pass any values, so a
/// two-minute threshold is tested in microseconds.
public struct WatchdogInstant: Sendable, Equatable {
    public var monotonicNanos: Int64
    public var wallMicros: Int64

    public init(monotonicNanos: Int64, wallMicros: Int64) {
        self.monotonicNanos = monotonicNanos
        self.wallMicros = wallMicros
    }

    /// The real clocks, now.
    public static func now() -> WatchdogInstant {
        WatchdogInstant(monotonicNanos: MonotonicClock.nowNanos(), wallMicros: UTCTimestamp.nowMicros())
    }

    /// This instant moved by `seconds` on both clocks.
    public func adding(seconds: Double) -> WatchdogInstant {
        WatchdogInstant(monotonicNanos: monotonicNanos + Int64(seconds * 1e9), wallMicros: wallMicros + Int64(seconds * 1e6))
    }

    var utc: String { UTCTimestamp.format(micros: wallMicros) }
}
