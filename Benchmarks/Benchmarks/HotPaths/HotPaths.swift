import Benchmark
import WatchdogCore
import Wire

/// A ~230-byte event, as a worker sends it (PROTOCOL.md, FEED_STATUS).
func eventLine(seq: Int) -> String {
    #"{"v":1,"type":"FEED_STATUS","market":"ES","run_id":"ES-20261121T071500Z-4f3a9c1b","pid":4242,"fence":7,"seq":\#(seq),"ts":"2026-11-21T07:15:00.133000Z","data":{"connected":true,"detail":"synthetic feed, 4.0 ticks/s, seed 1, bench"}}"#
}

let linesPerBuffer = 1_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    // LineFramer: one 64 KiB-ish read of event lines split into lines (scaled: per 1,000 lines).
    Benchmark("LineFramer.drain (1,000 lines of ~230 B per iteration)", configuration: .init(scalingFactor: .one)) { benchmark in
        var bytes: [UInt8] = []
        for i in 1...linesPerBuffer {
            bytes += Array(eventLine(seq: i).utf8)
            bytes.append(10)
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var framer = LineFramer()
            framer.append(bytes)
            var count = 0
            framer.drain { frame in if case .line(let l) = frame { count &+= l.count } }
            blackHole(count)
        }
    }

    // Event.decode of one ~230-byte line (strict parser and envelope validation).
    Benchmark("Event.decode (one ~230 B event)") { benchmark in
        let line = Array(eventLine(seq: 6).utf8)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try Event.decode(line: line))
        }
    }

    // WatchdogState.apply of a stream of decoded events (seq 1, 2, 3… of one run).
    Benchmark("WatchdogState.apply (one event of a stream)") { benchmark in
        let events = try (1...benchmark.scaledIterations.count).map { try Event.decode(line: Array(eventLine(seq: $0).utf8)) }
        var state = WatchdogState(configuredMarkets: ["ES"])
        let now = WatchdogInstant.now()
        benchmark.startMeasurement()
        for e in events { blackHole(state.apply(e, now: now)) }
        benchmark.stopMeasurement()
        blackHole(state)
    }
}
