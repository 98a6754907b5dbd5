import Glibc

/// The monotonic clock, in nanoseconds since an arbitrary start. Ages and timeouts use it, never the
/// wall clock, so a clock step cannot make a heartbeat look fresh or late.
public enum MonotonicClock {
    public static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
