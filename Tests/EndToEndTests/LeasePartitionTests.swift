import Foundation
import Platform
import TestSupport
import Testing
import Wire

/// A partition between the holder and the database (issue 15; docs/MULTIHOST.md, "The failure
/// model"): host a reaches PostgreSQL through the partition proxy (scenarios/multihost/tcp_proxy.py),
/// host b directly. The proxy first stalls (forwards nothing, closes nothing), later closes every
/// connection and refuses new ones. Each time the holder stops trading before the standby starts:
/// on the shared monotonic clock (`monotonic_ns` of each SYSTEM_MODE_CHANGE) the two AGGRESSIVE
/// windows never overlap, the holder stops within the lease of the partition, the standby takes
/// over with a higher fence, and after the partition heals the old holder stays a STANDBY.
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"), .serialized)
struct LeasePartitionTests {
    struct Window {
        var start: Int64
        var end: Int64?
        var fence: Int64
    }

    /// The AGGRESSIVE window of run `pid` that began at or after `since`: from its change to
    /// AGGRESSIVE to the next change (or the lease deadline that change names, if earlier).
    func window(_ hosts: LeaseHosts, _ i: Int, pid: Int32, since: Int64) -> Window? {
        let changes = hosts.homes[i].events("ES", type: .systemModeChange).filter { $0.pid == pid }
        guard
            let start = changes.firstIndex(where: {
                $0.data["to"]?.stringValue == "AGGRESSIVE" && ($0.data["monotonic_ns"]?.intValue ?? 0) >= since
            })
        else { return nil }
        let began = changes[start]
        var w = Window(start: began.data["monotonic_ns"]?.intValue ?? 0, end: nil, fence: began.fence)
        if let next = changes[(start + 1)...].first(where: { $0.data["to"]?.stringValue != "AGGRESSIVE" }) {
            let at = next.data["monotonic_ns"]?.intValue ?? 0
            w.end = min(at, next.data["lease_deadline_monotonic_ns"]?.intValue ?? at)
        }
        return w
    }

    /// Partitions `holder` (host a, behind the proxy) with `mode` while `standby` (host b) waits,
    /// checks the handover and heals the partition. Returns the standby's window.
    func partition(
        _ hosts: LeaseHosts, _ proxy: TCPProxy, _ mode: TCPProxy.Mode, holder: RunningProcess, standby: RunningProcess
    ) throws -> Window {
        let since = MonotonicClock.nowNanos()
        let trading = try #require(window(hosts, 0, pid: holder.pid, since: 0), "host a trades: \(hosts.describe())")
        #expect(trading.end == nil, "host a still trades before the partition: \(hosts.describe())")
        let fenceBefore = Int64(try hosts.pg.psql("SELECT fence FROM robot_lease WHERE market = 'ES'")) ?? 0
        try proxy.set(mode)
        let partitionedAt = MonotonicClock.nowNanos()
        let taken = try waitFor(
            "host b to trade after host a was partitioned (\(mode))", timeout: hosts.leaseSeconds + 10, seen: { hosts.describe() }
        ) {
            window(hosts, 1, pid: standby.pid, since: since)
        }
        let stopped = try waitFor("host a to stop trading", timeout: 5, seen: { hosts.describe() }) {
            window(hosts, 0, pid: holder.pid, since: 0).flatMap { $0.end }
        }
        let gapMs = Double(taken.start - stopped) / 1e6
        print("\(mode): host a stopped \(Double(stopped - partitionedAt) / 1e6) ms after the partition, host b traded \(gapMs) ms later")
        #expect(stopped < taken.start, "the AGGRESSIVE windows overlap by \(-gapMs) ms: \(hosts.describe())")
        #expect(stopped - partitionedAt <= Int64(hosts.leaseSeconds * 1e9), "host a stopped by its deadline, within the lease")
        #expect(taken.fence > fenceBefore, "host b's fence \(taken.fence) is above \(fenceBefore)")
        #expect(hosts.leaseState(0, pid: holder.pid) == "LEASE_LOST" || hosts.leaseState(0, pid: holder.pid) == "STANDBY")
        // An order on host a while partitioned is refused.
        let refused = try hosts.order(0)
        #expect(try refused.waitForExit() != 0, "host a placed an order while partitioned: \(refused.stdout)")

        // The partition heals: host a learns it lost the lease and stays a STANDBY; b keeps trading.
        try proxy.set(.forward)
        try waitFor("host a to say STANDBY once the database answers", timeout: hosts.leaseSeconds + 10, seen: { hosts.describe() }) {
            hosts.leaseState(0, pid: holder.pid) == "STANDBY" ? true : nil
        }
        #expect(window(hosts, 0, pid: holder.pid, since: stopped) == nil, "host a traded again: \(hosts.describe())")
        #expect(window(hosts, 1, pid: standby.pid, since: since)?.end == nil, "host b still trades: \(hosts.describe())")
        return taken
    }

    @Test func aHolderCutOffFromTheDatabaseStopsTradingBeforeTheStandbyStarts() throws {
        let hosts = try LeaseHosts(count: 2, leaseSeconds: 2)
        defer { hosts.cleanup() }
        let proxy = try TCPProxy(upstreamPort: hosts.pg.port)
        defer { proxy.stop() }
        try hosts.homes[0].writeConfig(
            LeaseHosts.config(
                name: hosts.names[0], url: "postgresql://robot@127.0.0.1:\(proxy.port)/robot", passwordFile: hosts.pg.passwordFile,
                lease: hosts.leaseSeconds, markets: ["ES"]))

        // Host a holds the market (it starts first), host b is its standby.
        var a = try hosts.startWorker(0)
        try waitFor("host a to trade", timeout: 20, seen: { hosts.describe() }) { window(hosts, 0, pid: a.pid, since: 0) }
        var b = try hosts.startWorker(1)
        try waitFor("host b to be a STANDBY", timeout: 20, seen: { hosts.describe() }) {
            hosts.leaseState(1, pid: b.pid) == "STANDBY" ? true : nil
        }

        // 1. Stalled: the holder's renewals get no answer.
        let first = try partition(hosts, proxy, .stall, holder: a, standby: b)

        // Host a holds the market again: b stops cleanly (its release reaches a at once), a new b waits.
        let handBack = MonotonicClock.nowNanos()
        b.signal(SIGTERM)
        #expect(try b.waitForExit() == 0, "\(b.stderr)")
        let again = try waitFor("host a to trade again", timeout: hosts.leaseSeconds + 10, seen: { hosts.describe() }) {
            window(hosts, 0, pid: a.pid, since: handBack)
        }
        #expect(again.fence > first.fence)
        // Restart a, so its run's windows start afresh for the helper (one window per run).
        a.signal(SIGTERM)
        #expect(try a.waitForExit() == 0, "\(a.stderr)")
        a = try hosts.startWorker(0)
        try waitFor("host a to trade", timeout: 20, seen: { hosts.describe() }) { window(hosts, 0, pid: a.pid, since: 0) }
        b = try hosts.startWorker(1)
        try waitFor("host b to be a STANDBY", timeout: 20, seen: { hosts.describe() }) {
            hosts.leaseState(1, pid: b.pid) == "STANDBY" ? true : nil
        }

        // 2. Closed: every connection reset and new ones refused.
        let second = try partition(hosts, proxy, .close, holder: a, standby: b)
        #expect(second.fence > again.fence)
    }
}
