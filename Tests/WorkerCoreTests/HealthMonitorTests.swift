import Testing

@testable import WorkerCore

@Suite struct HealthMonitorTests {
    @Test func freshWorkerIsHealthy() {
        var h = HealthMonitor(startedAt: 0)
        h.marketData(at: 0)
        h.eventLogWrite(at: 0)
        #expect(h.report(now: 1).healthy)
    }

    @Test func errorRateAboveTenPerMinuteIsUnhealthyAndTenIsNot() {
        var h = HealthMonitor(startedAt: 0)
        h.marketData(at: 100)
        h.eventLogWrite(at: 100)
        for i in 0..<10 { h.recordError(at: 50 + Double(i)) }
        #expect(h.report(now: 100).healthy, "10/min is the limit, not above it")
        h.recordError(at: 99)
        let r = h.report(now: 100)
        #expect(!r.healthy)
        #expect(r.reasons == ["error rate 11/min is above 10/min"])
        // A minute later the errors have aged out.
        #expect(h.report(now: 160).errorsPerMinute == 0)
    }

    @Test func marketDataOlderThanFiveMinutesIsUnhealthy() {
        var h = HealthMonitor(startedAt: 0)
        h.marketData(at: 10)
        h.eventLogWrite(at: 300)
        #expect(h.report(now: 310).healthy, "exactly 300 s is not older than 300 s")
        let r = h.report(now: 310.5)
        #expect(r.reasons == ["market data is 300.5 s old (limit 300 s)"])
        #expect(r.rules == ["market_data_stale"])
        #expect(h.report(now: 400).rules == r.rules, "the rule stays the same while the age grows")
    }

    @Test func aFeedThatNeverDeliveredGoesStaleFromTheStart() {
        var h = HealthMonitor(startedAt: 0)
        h.eventLogWrite(at: 400)
        #expect(!h.report(now: 301).healthy)
    }

    @Test func eventLogOlderThanTenMinutesIsUnhealthy() {
        var h = HealthMonitor(startedAt: 0)
        h.eventLogWrite(at: 0)
        h.marketData(at: 600)
        #expect(h.report(now: 600).healthy)
        #expect(h.report(now: 601).reasons == ["the last event-log write is 601 s old (limit 600 s)"])
    }

    @Test func aStalledQueueIsUnhealthy() {
        var h = HealthMonitor(startedAt: 0)
        h.marketData(at: 0)
        h.eventLogWrite(at: 0)
        h.queue = .stalled
        #expect(h.report(now: 1).reasons == ["the execution queue is stalled"])
    }
}
