import Testing
import Wire

@testable import WorkerCore

/// Wall-clock steps against the monotonic clock, from readings passed in.
@Suite struct ClockStepWatchTests {
    let second: Int64 = 1_000_000

    @Test func wallAndMonotonicAdvancingTogetherIsNoStep() {
        var w = ClockStepWatch()
        #expect(w.observe(wallMicros: 1_000 * second, monotonicNanos: 5_000_000_000) == nil)
        #expect(w.observe(wallMicros: 1_030 * second, monotonicNanos: 35_000_000_000) == nil)
        // Slewing (500 ppm over 30 s = 15 ms) is not a step.
        #expect(w.observe(wallMicros: 1_060 * second + 15_000, monotonicNanos: 65_000_000_000) == nil)
    }

    @Test func aStepBackOfMoreThanASecondIsReportedWithFromToAndDelta() throws {
        var w = ClockStepWatch()
        _ = w.observe(wallMicros: 1_000 * second, monotonicNanos: 0)
        let seen = w.observe(wallMicros: 970 * second, monotonicNanos: 2_000_000_000)
        let step = try #require(seen)
        #expect(step.fromMicros == 1_002 * second)
        #expect(step.toMicros == 970 * second)
        #expect(step.deltaMicros == -32 * second)
        #expect(step.data["delta_seconds"] == .double(-32))
        #expect(step.data["from"] == .string(UTCTimestamp.format(micros: 1_002 * second)))
        // The next reading is compared with the new time: no second report.
        #expect(w.observe(wallMicros: 971 * second, monotonicNanos: 3_000_000_000) == nil)
    }

    @Test func aStepForwardIsReportedOnlyBeyondASecond() throws {
        var w = ClockStepWatch()
        _ = w.observe(wallMicros: 0, monotonicNanos: 0)
        #expect(w.observe(wallMicros: second, monotonicNanos: 0) == nil, "exactly one second: not a step")
        let seen = w.observe(wallMicros: 3 * second + 1, monotonicNanos: 0)
        let step = try #require(seen)
        #expect(step.deltaMicros == 2 * second + 1)
    }

    @Test func anyStepThatMakesATimestampGoBackIsReported() throws {
        var w = ClockStepWatch()
        _ = w.observe(wallMicros: 10 * second, monotonicNanos: 0)
        let seen = w.observe(wallMicros: 10 * second - 300_000, monotonicNanos: 100_000_000)
        let step = try #require(seen)
        #expect(step.deltaMicros == -400_000)
    }
}
