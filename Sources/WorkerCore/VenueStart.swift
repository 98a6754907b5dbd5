import Platform

/// Waits, on the running reactor, for the venue's first reconciliation (`OrderDesk.holdReason`
/// cleared) or a deadline, whichever comes first, then calls `body` once: the worker says READY
/// after reconciling, without ever blocking its loop on the venue.
enum VenueStart {
    static func whenSettled(_ desk: OrderDesk, reactor: Reactor, within seconds: Double, _ body: @escaping () -> Void) {
        let deadline = MonotonicClock.nowNanos() + Int64(seconds * 1e9)
        func poll() {
            if desk.holdReason == nil || MonotonicClock.nowNanos() >= deadline {
                body()
                return
            }
            reactor.schedule(afterNanos: 2_000_000) { poll() }
        }
        poll()
    }
}
