/// The snapshot lags the journal on the order path (docs/robot-worker.md, "The snapshot"): placing
/// an order journals `ORDER_PLACED` (synced before the venue hears of it) and does not rewrite the
/// snapshot; the journal carries the order to the next start (`FenceMemory.accepted`,
/// `FenceMemory.unanswered`). The worker's loop writes the snapshot once it is idle and no order
/// waits for the venue's answer (an idle moment while the paper venue decides would put the write
/// in the way of its answer), after the answers went out; a fill of an order no snapshot holds yet
/// writes it first (`OrderDesk.filled`).
extension Engine {
    /// Orders were placed since the snapshot was last written, and none waits for the venue.
    public var snapshotLags: Bool { !desk.unsnapshotted.isEmpty && desk.sentAt.isEmpty }

    /// Writes the snapshot when it lags (the worker's loop calls this when nothing else is ready).
    /// A failing disk is retried by `evaluate` once a second, not at every idle moment.
    public func catchUpSnapshot() {
        guard snapshotLags, !snapshotWriteFailed else { return }
        writeSnapshot()
    }
}
