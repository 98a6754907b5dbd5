/// Whether a worker's hello claims a fence the market's history already used: the watchdog's
/// memory of fences beyond the lock folder (docs/robot-worker.md, "Fence memory"). Pure.
///
/// A hello is regressed when its fence is above 0 (a holder's) and below the market's high-water
/// mark, or equal to it while the mark belongs to another run. Its own run's mark (a reconnect) is
/// not a regression.
enum FenceHighWater {
    /// The high-water mark to name in the refusal, when the hello is regressed; nil when it may go on.
    static func regression(fence: Int64, runID: String, market: WatchedMarket?) -> Int64? {
        guard fence > 0, let m = market, m.fenceHighWater > 0 else { return nil }
        if fence > m.fenceHighWater { return nil }
        if fence == m.fenceHighWater, m.runs.contains(where: { $0.runID == runID && $0.fence == fence }) { return nil }
        return m.fenceHighWater
    }
}
