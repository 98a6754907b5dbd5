/// The engine's side of the un-acked ceiling (`UnackedCeiling`, docs/robot-worker.md "What is
/// bounded"): it holds OBSERVE_ONLY while the watchdog has not acked too many journal bytes.
extension Engine {
    /// The un-acked ceiling tripped (OBSERVE_ONLY while it holds) or cleared (back to AGGRESSIVE
    /// when nothing else holds the mode).
    public func ceiling(_ change: UnackedCeiling.Change) {
        switch change {
        case .tripped(let reason):
            ceilingHold = reason
            guard mode == .aggressive else { return }
            self.change(to: .observeOnly, reason: reason)
        case .cleared(let reason):
            ceilingHold = nil
            guard mode == .observeOnly, latch == nil, heldBy == nil, !observation.unobserved else { return }
            self.change(to: .aggressive, reason: reason)
        }
        writeSnapshot()
    }
}
