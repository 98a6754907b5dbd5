/// The holds of OBSERVE_ONLY that are not latches, beside the lease's (`Engine+Lease.swift`) and the
/// un-acked ceiling's (`Engine+UnackedCeiling.swift`): the venue's and the strategy's. Each lets go
/// to AGGRESSIVE only when no other rule holds (`Engine.heldBy`).
extension Engine {
    /// The strategy holds OBSERVE_ONLY (`reason`) or lets go (nil): not a latch (docs/STRATEGY.md).
    public func holdForStrategy(_ reason: String?) {
        strategyHold = reason
        if let reason, mode == .aggressive {
            change(to: .observeOnly, reason: reason)
            writeSnapshot()
        } else if reason == nil, latch == nil, mode == .observeOnly, heldBy == nil {
            // Still unobserved: the watchdog's answer ends the hold instead.
            if observation.unobserved {
                heldUnobserved = true
            } else {
                change(to: .aggressive, reason: "the strategy is ready again")
                writeSnapshot()
            }
        }
    }

    /// The venue is unreachable or not reconciled (`reason`), or reconciled again (nil): OBSERVE_ONLY
    /// while it holds, AGGRESSIVE again when nothing else does.
    func venueHold(_ reason: String?) {
        if let reason, mode == .aggressive {
            change(to: .observeOnly, reason: "venue: \(reason)")
        } else if reason == nil, latch == nil, heldBy == nil, mode == .observeOnly, !observation.unobserved {
            change(to: .aggressive, reason: "venue reconciled")
        } else {
            return
        }
        writeSnapshot()
    }
}
