import Foundation
import Platform
import TestSupport
import Testing
import Wire

/// The order of a clean handover (docs/MULTIHOST.md, "A clean handover, step by step"): the
/// holder's last order, then its OBSERVE_ONLY, then the release it sends, then the standby's
/// first AGGRESSIVE, on the host's one monotonic clock (CLOCK_MONOTONIC) and in each journal.
extension LeaseFailoverTests {
    @Test func theHoldersLastOrderComesBeforeItsReleaseAndTheReleaseBeforeTheStandbyTrades() throws {
        let hosts = try LeaseHosts(count: 2)
        defer { hosts.cleanup() }
        let workers = [(0, try hosts.startWorker(0)), (1, try hosts.startWorker(1))]
        let h = try oneHolder(hosts, workers)
        let (holder, standby) = (workers[h], workers[1 - h])
        // Orders on their way to the holder when it is stopped: one placed first, more in flight.
        var clients = [try hosts.order(holder.0)]
        _ = try waitFor("an order placed by the holder", timeout: 15, seen: { hosts.describe() }) {
            hosts.homes[holder.0].events("ES", type: .orderPlaced).first { $0.pid == holder.1.pid }
        }
        for _ in 0..<4 { clients.append(try hosts.order(holder.0)) }
        let sentAt = MonotonicClock.nowNanos()
        holder.1.signal(SIGTERM)
        let took = try waitFor("the standby to trade", timeout: hosts.leaseSeconds + 5, seen: { hosts.describe() }) {
            hosts.aggressiveSince(standby.0, pid: standby.1.pid, since: sentAt)
        }
        #expect(try holder.1.waitForExit() == 0, "\(holder.1.stderr)")
        for c in clients { _ = try? c.waitForExit() }

        let events = hosts.homes[holder.0].events("ES").filter { $0.pid == holder.1.pid }
        let lastOrder = try #require(events.last { $0.type == EventType.orderPlaced.rawValue }, "\(hosts.describe())")
        let stopped = try #require(
            events.first {
                $0.type == EventType.systemModeChange.rawValue && $0.data["to"]?.stringValue == "OBSERVE_ONLY"
                    && ($0.data["reason"]?.stringValue ?? "").hasPrefix("STOPPING")
            }, "\(hosts.describe())")
        let released = try #require(
            events.first { $0.type == EventType.leaseStatus.rawValue && $0.data["state"]?.stringValue == "RELEASED" },
            "\(hosts.describe())")
        // In the holder's journal: the last order, then OBSERVE_ONLY, then RELEASED; no order after.
        #expect(lastOrder.seq! < stopped.seq!, "an order after the holder stopped trading: \(hosts.describe())")
        #expect(stopped.seq! < released.seq!)
        // On the shared monotonic clock: SIGTERM <= OBSERVE_ONLY <= the release sent < the standby trades.
        let stoppedAt = try #require(stopped.data["monotonic_ns"]?.intValue)
        let releaseSent = try #require(released.data["release_sent_monotonic_ns"]?.intValue, "\(released.data.jsonTextForTest)")
        let tradedAt = try #require(took.data["monotonic_ns"]?.intValue)
        #expect(
            sentAt <= stoppedAt && stoppedAt <= releaseSent && releaseSent < tradedAt, "\(sentAt) \(stoppedAt) \(releaseSent) \(tradedAt)")
        #expect(took.fence > lastOrder.fence, "the standby trades on a higher fence")
        // The standby placed nothing before it traded.
        let early = hosts.homes[standby.0].events("ES", type: .orderPlaced).filter { $0.pid == standby.1.pid && $0.seq! < took.seq! }
        #expect(early.isEmpty, "\(early.count) orders placed by the standby before its AGGRESSIVE")
        print(
            "\(#function): last order -> OBSERVE_ONLY; release sent \((releaseSent - stoppedAt) / 1000) µs later; standby AGGRESSIVE \((tradedAt - releaseSent) / 1000) µs after that"
        )
    }
}
