#if canImport(Glibc)
import Glibc
#endif

/// Test only: a way to wedge a worker's event loop while its other threads (the `/metrics` server)
/// keep running, so the tests can show that a stuck loop, not only a stopped process, stops the
/// `WATCHDOG=1` pings and gets the worker replaced (docs/robot-worker.md, docs/TESTING.md).
///
/// Off unless the worker's environment has `ROBOT_TEST_ALLOW_WEDGE=1`; then a `wedge` request on
/// the control socket (`{"v":1,"type":"wedge"}`) is answered `wedged` and the reactor thread then
/// blocks for good inside its handler. Without the variable the request is `bad_request`, as any
/// unknown type.
enum TestWedge {
    static let environmentKey = "ROBOT_TEST_ALLOW_WEDGE"
    static let requestType = "wedge"

    /// Read once: the variable is part of the process's start, not something to change later.
    static let allowed: Bool = getenv(environmentKey).map { String(cString: $0) == "1" } ?? false

    /// Blocks the calling thread (the reactor's) forever. Signals the reactor would take from its
    /// signalfd stay blocked, so only SIGKILL (or an unblocked signal's default action) ends it.
    static func blockForever() -> Never {
        while true { sleep(3600) }
    }
}
