import Testing

@testable import WorkerCore

@Suite struct FailSafeTests {
    func healthy(at t: Double) -> HealthMonitor {
        var h = HealthMonitor(startedAt: 0)
        h.marketData(at: t)
        h.eventLogWrite(at: t)
        h.snapshotWrite(at: t)
        return h
    }

    @Test func marketDataStalledTripsAfterTenMinutesNotBefore() {
        var f = FailSafe(startedAt: 0)
        var h = healthy(at: 0)
        h.eventLogWrite(at: 700)
        h.snapshotWrite(at: 700)
        #expect(f.evaluate(health: h, now: 600) == nil)
        let trip = f.evaluate(health: h, now: 600.001)
        #expect(trip?.0 == .marketDataStalled)
    }

    @Test func aStalledFeedIsUnhealthyBeforeItTripsTheFailSafe() {
        var f = FailSafe(startedAt: 0)
        var h = healthy(at: 0)
        h.eventLogWrite(at: 400)
        #expect(!h.report(now: 400).healthy)
        #expect(f.evaluate(health: h, now: 400) == nil)
    }

    @Test func eventLogFailingTripsAfterFifteenMinutesOfFailures() {
        var f = FailSafe(startedAt: 0)
        var h = healthy(at: 0)
        f.eventLogWrite(succeeded: false, at: 100)
        for t in stride(from: 100.0, through: 1000, by: 100) {
            h.marketData(at: t)
            h.snapshotWrite(at: t)
        }
        h.eventLogWrite(at: 1000)
        #expect(f.evaluate(health: h, now: 1000) == nil)
        #expect(f.evaluate(health: h, now: 1000.5)?.0 == .eventLogFailing)
        f.eventLogWrite(succeeded: true, at: 1001)
        #expect(f.evaluate(health: h, now: 1001) == nil)
    }

    @Test func noSnapshotForTwentyFiveHoursTrips() {
        var f = FailSafe(startedAt: 0)
        var h = healthy(at: 0)
        h.marketData(at: 90_000)
        h.eventLogWrite(at: 90_000)
        #expect(f.evaluate(health: h, now: 90_000) == nil)
        #expect(f.evaluate(health: h, now: 90_001)?.0 == .noSnapshot)
    }

    @Test func healthFailingTripsOnlyAfterItsDurationWithoutABreak() {
        var thresholds = FailSafe.Thresholds()
        thresholds.healthFailingSeconds = 60
        var f = FailSafe(thresholds: thresholds, startedAt: 0)
        var h = healthy(at: 0)
        h.queue = .stalled
        #expect(f.evaluate(health: h, now: 10) == nil)
        #expect(f.evaluate(health: h, now: 69) == nil)
        h.queue = .idle
        #expect(f.evaluate(health: h, now: 70) == nil, "a healthy moment resets the clock")
        h.queue = .stalled
        #expect(f.evaluate(health: h, now: 71) == nil)
        #expect(f.evaluate(health: h, now: 130) == nil)
        #expect(f.evaluate(health: h, now: 131)?.0 == .healthFailing)
    }

    @Test func theLatchRoundTripsThroughTheSnapshot() throws {
        let latch = FailSafe.Latch(
            trigger: .marketDataStalled, reason: "no data", latchedAtUTC: "2026-11-21T07:00:00.000000Z", runID: "ES-1")
        let snapshot = WorkerSnapshot(
            market: "ES", runID: "ES-1", fence: 3, mode: .shutdown, latch: latch, latchCleared: nil, orders: [], positions: [:],
            writtenAtUTC: "2026-11-21T07:00:00.000000Z")
        let decoded = try WorkerSnapshot.decode(snapshot.encoded()).get()
        #expect(decoded == snapshot)
        #expect(decoded.latch?.trigger == .marketDataStalled)
    }
}
