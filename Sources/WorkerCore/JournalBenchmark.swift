import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// `robot-worker bench-journal` (hidden; bench/journal.py runs it): the worker's own journal path
/// (`EventLog` with group commit on a `Reactor`, `Journal`'s write and `fdatasync`) measured
/// alone, with no watchdog. Two figures, one JSON line:
///
/// - throughput: `bursts` loop iterations each emitting `burst` events as fast as the loop turns;
///   events made durable per second.
/// - latency: one event every `1/rate` s for `count` events; from `emit` to the moment its line
///   is durable (the forward that follows the commit), p50/p99/max in microseconds.
public enum JournalBenchmark {
    public static func run(path: String, burst: Int, bursts: Int, rate: Double, count: Int) throws -> String {
        unlink(path)
        let through = try throughput(path: path, burst: burst, bursts: bursts)
        unlink(path)
        let latency = try latencies(path: path, rate: rate, count: count)
        unlink(path)
        func us(_ q: Double) -> Int64 {
            guard !latency.isEmpty else { return 0 }
            return latency[min(latency.count - 1, Int(Double(latency.count) * q))] / 1000
        }
        return
            "{\"events_per_second\":\(Int(through.rate)),\"events\":\(through.events),\"syncs\":\(through.syncs),\"burst\":\(burst),"
            + "\"rate\":\(rate),\"latency_events\":\(latency.count),\"p50_us\":\(us(0.5)),\"p99_us\":\(us(0.99)),"
            + "\"max_us\":\(latency.last.map { $0 / 1000 } ?? 0)}"
    }

    static let data: JSONObject = [
        "client_order_id": .string("SIM-BENCH-F1-000001"), "stream": .string("bench"), "symbol": .string("MES"), "side": .string("buy"),
        "quantity": .int(1), "limit": .double(5000.25), "status": .string("open"),
    ]

    private static func throughput(path: String, burst: Int, bursts: Int) throws -> (rate: Double, events: Int, syncs: Int) {
        let reactor = try Reactor()
        let journal = try Journal(path: path)
        let log = EventLog(market: "BENCH", runID: "BENCH-throughput", pid: getpid(), journal: journal)
        log.fence = 1
        log.enableGroupCommit { body in reactor.schedule(afterNanos: 0, body) }
        var durable = 0
        let total = burst * bursts
        var started: Int64 = 0
        var finished: Int64 = 0
        log.forward = { _, _ in
            durable += 1
            if durable == total {
                finished = MonotonicClock.nowNanos()
                reactor.stop()
            }
        }
        var left = bursts
        func iteration() {
            guard left > 0 else { return }
            left -= 1
            for _ in 0..<burst { log.emit(.orderPlaced, data) }
            reactor.schedule(afterNanos: 0) { iteration() }
        }
        reactor.schedule(afterNanos: 0) {
            started = MonotonicClock.nowNanos()
            iteration()
        }
        reactor.run()
        return (Double(total) / (Double(finished - started) / 1e9), total, journal.completedSyncs)
    }

    private static func latencies(path: String, rate: Double, count: Int) throws -> [Int64] {
        let reactor = try Reactor()
        let journal = try Journal(path: path)
        let log = EventLog(market: "BENCH", runID: "BENCH-latency", pid: getpid(), journal: journal)
        log.fence = 1
        log.enableGroupCommit { body in reactor.schedule(afterNanos: 0, body) }
        var emitted: [Int64: Int64] = [:]
        var samples: [Int64] = []
        samples.reserveCapacity(count)
        log.forward = { event, _ in
            let now = MonotonicClock.nowNanos()
            if let seq = event.seq, let t = emitted.removeValue(forKey: seq) { samples.append(now - t) }
            if samples.count == count { reactor.stop() }
        }
        let interval = Int64(1e9 / rate)
        let start = MonotonicClock.nowNanos()
        var n: Int64 = 0
        func tick() {
            let now = MonotonicClock.nowNanos()
            emitted[log.lastSeq + 1] = now
            log.emit(.orderPlaced, data)
            n += 1
            if n < count { reactor.schedule(afterNanos: start + n * interval - MonotonicClock.nowNanos()) { tick() } }
        }
        reactor.schedule(afterNanos: 0) { tick() }
        reactor.run()
        return samples.sorted()
    }
}
