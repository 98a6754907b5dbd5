import Wire

/// A refused worker's one delivery of its `CANONICAL_MARKET_ALREADY_ACTIVE` (docs/robot-worker.md,
/// "Delivery to the watchdog").
extension WatchdogLink {
    /// Delivers a refused worker's events (fence 0) before it exits: one blocking exchange,
    /// each step bounded by `timeoutSeconds`. On any failure nothing more is tried: the events are
    /// in the journal and the next holder re-sends them.
    public static func deliverOnce(_ events: [Event], socketPath: String, timeoutSeconds: Double = 0.5) {
        guard let first = events.first, let client = try? LineClient(path: socketPath) else { return }
        do {
            try client.send(
                WireCoding.line(Hello(role: .worker, market: first.market, runID: first.runID, pid: first.pid, fence: first.fence)))
            _ = try client.readLine(timeoutSeconds: timeoutSeconds)
            for e in events { try client.send(e.encodedLine()) }
            _ = try client.readLine(timeoutSeconds: timeoutSeconds)
        } catch {
            return
        }
    }
}
