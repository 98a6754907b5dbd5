import Wire

/// Clock steps are events, not damage (docs/robot-worker.md, "Clock steps"): notices when the wall
/// clock moved against the monotonic clock by more than `limitMicros` between two readings, or
/// back by any amount.
///
/// Each reading is compared with the one before: the wall clock should have advanced by what the
/// monotonic clock did. A difference beyond the limit (one second) is a step (an NTP correction,
/// `date -s`, a VM resumed); slewing (at most 500 ppm) never comes near it between two events of
/// a live worker, which emits at least a heartbeat per interval. `EventLog` journals `CLOCK_STEP`
/// for a step before the event whose reading saw it, so the journal explains every timestamp that
/// goes back (`StartupChecks`).
///
/// Pure: the readings are passed in (wall microseconds, monotonic nanoseconds).
public struct ClockStepWatch: Sendable, Equatable {
    /// A step: the wall clock read `toMicros` where `fromMicros` was expected.
    public struct Step: Sendable, Equatable {
        public var fromMicros: Int64
        public var toMicros: Int64
        /// `toMicros - fromMicros`: negative for a step back.
        public var deltaMicros: Int64

        /// `CLOCK_STEP`'s data (docs/PROTOCOL.md).
        public var data: JSONObject {
            [
                "from": .string(UTCTimestamp.format(micros: fromMicros)), "to": .string(UTCTimestamp.format(micros: toMicros)),
                "delta_seconds": .double(Double(deltaMicros) / 1e6),
            ]
        }
    }

    /// Steps larger than this (in either direction) are reported.
    public let limitMicros: Int64
    private var last: (wall: Int64, mono: Int64)?

    public init(limitMicros: Int64 = 1_000_000) { self.limitMicros = limitMicros }

    public static func == (a: ClockStepWatch, b: ClockStepWatch) -> Bool {
        a.limitMicros == b.limitMicros && a.last?.wall == b.last?.wall && a.last?.mono == b.last?.mono
    }

    /// Takes one reading; returns the step since the previous one, if any.
    public mutating func observe(wallMicros: Int64, monotonicNanos: Int64) -> Step? {
        defer { last = (wallMicros, monotonicNanos) }
        guard let last else { return nil }
        let expected = last.wall + (monotonicNanos - last.mono) / 1000
        let delta = wallMicros - expected
        // Any step that would make a timestamp go back is reported, however small: the journal
        // must explain every timestamp that goes back.
        guard abs(delta) > limitMicros || wallMicros < last.wall else { return nil }
        return Step(fromMicros: expected, toMicros: wallMicros, deltaMicros: delta)
    }
}
