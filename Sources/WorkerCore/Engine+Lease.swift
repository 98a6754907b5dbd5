/// The engine under a lease across hosts (docs/MULTIHOST.md): while this run does not hold its
/// market's lease it holds OBSERVE_ONLY (reason `STANDBY` or `LEASE_LOST`), whatever else would
/// allow AGGRESSIVE; a lease held again reruns the startup checks, which settle the mode.
extension Engine {
    /// Holds OBSERVE_ONLY for `reason` (a STANDBY or LEASE_LOST line). `cancelOrders`: the lease
    /// was lost, so every open order is cancelled (the venue permitting). `persist: false` leaves
    /// the snapshot to the caller (the stop writes it right after the release).
    public func holdForLease(_ reason: String, cancelOrders: Bool, persist: Bool = true) {
        leaseHold = reason
        if mode == .aggressive {
            change(to: .observeOnly, reason: reason)
            if persist { writeSnapshot() }
        }
        if cancelOrders {
            for order in openOrders { _ = cancel(order.clientOrderID) }
        }
    }

    /// This run holds the lease (its fence already raised): the startup checks, run again on the
    /// records as they are now, settle the mode (`start`). `start` ends by writing the snapshot
    /// (before any order can be placed); what the takeover's reconciliation would persist on the
    /// way (a venue that answers at once, the SIM) is in that one write, not in one more.
    public func leaseGranted(checks: [StartupChecks.Result]) {
        leaseHold = nil
        let persist = desk.persist
        desk.persist = {}
        start(checks: checks)
        desk.persist = persist
    }
}
