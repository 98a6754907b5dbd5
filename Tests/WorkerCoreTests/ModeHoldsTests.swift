import Platform
import RobotConfig
import TestSupport
import Testing
import Wire

@testable import WorkerCore

/// Several rules hold OBSERVE_ONLY without a latch (the lease, the un-acked ceiling, the venue, the
/// strategy, the watchdog unobserved): one letting go returns to AGGRESSIVE only when no other
/// still holds (`Engine.heldBy`).
@Suite struct ModeHoldsTests {
    func engine(_ folder: TemporaryFolder) throws -> Engine {
        let journal = try Journal(path: folder.file("events.ndjson"))
        let log = EventLog(market: "ES", runID: "ES-h", pid: 1, journal: journal)
        log.fence = 1
        let engine = Engine(
            market: "ES", symbol: "MES", streams: ["ES1"], log: log, settings: SafetySettings(), snapshotPath: folder.file("snapshot.json"),
            restored: nil, now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.start(checks: [])
        return engine
    }

    @Test func theCeilingClearingWhileTheLeaseIsLostStaysObserveOnlyUntilTheLeaseIsHeldAgain() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let engine = try engine(folder)
        #expect(engine.mode == .aggressive)
        engine.ceiling(.tripped(reason: "UNACKED_CEILING: 2 GiB not acked"))
        engine.holdForLease("LEASE_LOST: deadline passed", cancelOrders: true)
        #expect(engine.mode == .observeOnly)
        engine.ceiling(.cleared(reason: "acked again"))
        #expect(engine.mode == .observeOnly, "the lease still holds: \(engine.modeReason)")
        #expect(engine.heldBy?.hasPrefix("LEASE_LOST") == true)
        engine.leaseGranted(checks: [])
        #expect(engine.mode == .aggressive)
    }

    @Test func theLeaseHeldAgainWhileTheCeilingHoldsStaysObserveOnlyUntilItClears() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let engine = try engine(folder)
        engine.holdForLease("LEASE_LOST: deadline passed", cancelOrders: true)
        engine.ceiling(.tripped(reason: "UNACKED_CEILING: 2 GiB not acked"))
        engine.leaseGranted(checks: [])
        #expect(engine.mode == .observeOnly, "the ceiling still holds: \(engine.modeReason)")
        engine.ceiling(.cleared(reason: "acked again"))
        #expect(engine.mode == .aggressive)
    }

    @Test func theStrategyReadyAgainWhileTheCeilingHoldsStaysObserveOnly() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let engine = try engine(folder)
        engine.holdForStrategy("STRATEGY_CRASHED: exit 3")
        engine.ceiling(.tripped(reason: "UNACKED_CEILING: 2 GiB not acked"))
        engine.holdForStrategy(nil)
        #expect(engine.mode == .observeOnly)
        engine.ceiling(.cleared(reason: "acked again"))
        #expect(engine.mode == .aggressive)
    }
}
