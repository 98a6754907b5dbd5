import Wire

/// A bound worker's event line into the state: decoded (hand-parsed, the hot path), checked against
/// what the connection's hello claimed, and applied. The server acts on the outcome: a refused line
/// is counted and logged, an applied one waits for the next snapshot and its ack.
enum EventIntake {
    enum Outcome {
        /// The line was refused; the connection stays.
        case rejected(RejectionReason, String)
        /// Applied (or a duplicate of an applied event): its ack waits for the next snapshot.
        case applied
        /// A `FAILSAFE_CLEARED` was applied: operators waiting for that latch are answered.
        case latchCleared(Event)
        /// A heartbeat: only its time changed, saved lazily, never acked.
        case heartbeat
        /// A routine event applied (a passing `IDENTITY_INVARIANTS_STATUS` after a passing one, each
        /// market's once a minute; only the applied seq and times change): saved lazily, like a
        /// heartbeat, and acked with that save. Nothing but its ack waits on it, and the worker keeps
        /// it in its journal until then.
        case routine
    }

    static func take(
        _ bytes: UnsafeBufferPointer<UInt8>, market: String, on client: ClientConnection, into state: inout WatchdogState,
        now: WatchdogInstant
    ) -> Outcome {
        let event: Event
        do {
            event = try Event.decode(line: bytes)
        } catch {
            return .rejected(error.reason, error.detail)
        }
        guard event.market == market else {
            return .rejected(.wrongMarket, "an event of \(event.market) on a connection bound to \(market)")
        }
        // A holder speaks for its own fence and the earlier runs it resumes, never a later fence; a
        // refused worker (hello fence 0) only for its own run at fence 0.
        if event.fence > client.helloFence
            || (client.helloFence == 0 && (event.runID != client.role.runID || event.isHeartbeat))
        {
            return .rejected(
                .notPermitted,
                "an event of run \(event.runID) at fence \(event.fence) on a connection whose hello claimed fence \(client.helloFence)")
        }
        let isStatus = event.type == EventType.identityInvariantsStatus.rawValue
        let wasPassing = isStatus && state.markets[market]?.lastIdentityInvariantsPass == true
        switch state.apply(event, now: now, resumed: client.resumeRuns.contains(event.runID)) {
        case .applied(let run, let seq):
            client.delivered(run: run)
            client.applied(run: run, seq: seq)
            if event.type == EventType.failsafeCleared.rawValue { return .latchCleared(event) }
            if wasPassing, state.markets[market]?.lastIdentityInvariantsPass == true { return .routine }
            return .applied
        case .duplicate(let run, _):
            client.delivered(run: run)
            return .applied
        case .heartbeat, .staleHeartbeat:
            return .heartbeat
        }
    }
}
