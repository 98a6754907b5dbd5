import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Answers operators: `status` (the state, one line) and `ack` (acknowledges alerts and, when the
/// market's worker holds a latch, relays `clear_latch` to that worker and answers once it confirms
/// or `latchClearTimeout` passes). Only root and the watchdog's own uid may change anything.
final class OperatorDesk {
    enum Outcome {
        /// Answered; `changed`: the state changed and waits for a snapshot.
        case answered(changed: Bool)
        /// The request was refused (the answer is the reason); counted like any refused line.
        case rejected(RejectionReason, String)
    }

    /// How long an operator's `ack` waits for the worker's `FAILSAFE_CLEARED`.
    static let latchClearTimeout = 5.0

    private let reactor: Reactor
    private let ownUID: UInt32
    private let policy: HeartbeatPolicy
    private let configuredMarkets: [String]
    /// Operators waiting for a worker to confirm a cleared latch, by market.
    private var pendingLatchClears: [String: [(client: ClientConnection, acknowledged: [Alert], timer: Reactor.TimerID)]] = [:]

    init(reactor: Reactor, ownUID: UInt32, policy: HeartbeatPolicy, configuredMarkets: [String]) {
        self.reactor = reactor
        self.ownUID = ownUID
        self.policy = policy
        self.configuredMarkets = configuredMarkets
    }

    /// One request line from an operator connection.
    func request(
        _ bytes: [UInt8], from client: ClientConnection, state: inout WatchdogState, connections: [Int32: ClientConnection]
    ) -> Outcome {
        let request: OperatorRequest
        do {
            _ = try JSONParser.parse(bytes)
        } catch {
            return .rejected(error.reason, error.detail)
        }
        do {
            request = try WireCoding.decode(OperatorRequest.self, from: bytes)
        } catch {
            return .rejected(.invalidField, "expected {\"v\":1,\"type\":\"status\"|\"ack\",\"market\":…,\"alert_id\":…}")
        }
        if request.changesState, !OperatorAccess.mayChangeState(peerUID: client.line.peer?.uid, ownUID: ownUID) {
            return .rejected(
                .notPermitted,
                "uid \(client.line.peer.map { String($0.uid) } ?? "unknown") may not acknowledge; only root and uid \(ownUID) may")
        }
        let now = WatchdogInstant.now()
        switch request.type {
        case .status:
            let changed = state.tick(now: now, policy: policy)
            var markets = state.markets
            if let only = request.market { markets = markets.filter { $0.key == only } }
            let report = StatusReport(
                generatedAtUTC: now.utc, watchdogPID: getpid(), configuredMarkets: configuredMarkets, markets: markets,
                rejected: state.rejected, connections: connections.count, alertHistory: state.alertHistory)
            client.line.send(WireCoding.line(report))
            return .answered(changed: changed)
        case .ack:
            let market = request.market ?? ""
            let done = state.acknowledge(market: market, alertID: request.alertID, now: now)
            if !done.isEmpty {
                Diagnostics.note("\(client.label): acknowledged \(done.map(\.alertID).joined(separator: ", "))")
            }
            if let latch = state.markets[market]?.latch {
                relayLatchClear(
                    market: market, latch: latch, holder: state.markets[market]?.lock?.runID, from: client, acknowledged: done,
                    connections: connections)
            } else {
                client.line.send(WireCoding.line(AckReport(market: market, acknowledged: done)))
            }
            return .answered(changed: !done.isEmpty)
        }
    }

    /// Asks the market's worker, over its live connection, to clear its latch; the operator's
    /// answer waits for the worker's `FAILSAFE_CLEARED` (or `latchClearTimeout`). Only the worker
    /// clears a latch: without a live connection the ack says so and the latch stays.
    private func relayLatchClear(
        market: String, latch: WatchedMarket.Latch, holder: String?, from client: ClientConnection, acknowledged: [Alert],
        connections: [Int32: ClientConnection]
    ) {
        guard let holder,
            let worker = connections.values.first(where: { $0.role == .worker(market: market, runID: holder) && !$0.line.isClosed })
        else {
            let message =
                "\(market): the \(latch.trigger) latch stays set: its worker is not connected to the watchdog"
                + (holder.map { " (holder run \($0))" } ?? " (no lock holder)") + "; start it or wait for it to reconnect, then ack again"
            client.line.send(
                WireCoding.line(AckReport(market: market, acknowledged: acknowledged, latch: .notConnected, latchMessage: message)))
            return
        }
        let peer = client.line.peer
        let by = "uid \(peer.map { String($0.uid) } ?? "?") (pid \(peer.map { String($0.pid) } ?? "?")) through watchdog ack"
        worker.line.send(WireCoding.line(ClearLatch(by: by)))
        Diagnostics.note("\(client.label): asked \(worker.label) to clear its \(latch.trigger) latch")
        let timer = reactor.schedule(afterSeconds: Self.latchClearTimeout) { [unowned self, weak client] in
            guard let client else { return }
            self.pendingLatchClears[market]?.removeAll { $0.client === client }
            let message =
                "\(market): asked the worker to clear its \(latch.trigger) latch; it did not confirm within \(Self.latchClearTimeout) s"
            client.line.send(
                WireCoding.line(AckReport(market: market, acknowledged: acknowledged, latch: .notConfirmed, latchMessage: message)))
        }
        pendingLatchClears[market, default: []].append((client, acknowledged, timer))
    }

    /// A worker journaled `FAILSAFE_CLEARED`: answers the operators waiting for it.
    func latchCleared(_ event: Event) {
        guard let waiting = pendingLatchClears.removeValue(forKey: event.market) else { return }
        let message =
            "\(event.market): \(event.data["trigger"]?.stringValue ?? "the") latch cleared by the worker (run \(event.runID)), "
            + "recorded as cleared by \(event.data["cleared_by"]?.stringValue ?? "?")"
        for w in waiting {
            reactor.cancel(w.timer)
            w.client.line.send(
                WireCoding.line(AckReport(market: event.market, acknowledged: w.acknowledged, latch: .cleared, latchMessage: message)))
        }
    }
}
