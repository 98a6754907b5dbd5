import Testing

@testable import WorkerCore

@Suite struct UnackedCeilingTests {
    @Test func tripsOnceOverTheLimitAndClearsUnderNinetyPercent() {
        var c = UnackedCeiling(limit: 1000)
        #expect(c.observe(unackedBytes: 1000) == nil)
        guard case .tripped(let why) = c.observe(unackedBytes: 1001) else {
            Issue.record("did not trip")
            return
        }
        #expect(why.contains("worker.journal_max_unacked_bytes (1000)"))
        #expect(c.over)
        #expect(c.observe(unackedBytes: 5000) == nil, "one alert, not one per byte")
        #expect(c.observe(unackedBytes: 950) == nil, "under the limit but not under 90 %: still held")
        guard case .cleared = c.observe(unackedBytes: 899) else {
            Issue.record("did not clear")
            return
        }
        #expect(!c.over)
        #expect(c.observe(unackedBytes: 0) == nil)
        #expect(c.observe(unackedBytes: 1001) != nil, "trips again")
    }
}
