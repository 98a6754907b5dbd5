import Foundation
import Platform
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Many markets' heartbeats share the watchdog's wakeups (docs/watchdog.md, "Heartbeats"): this
/// process holds 60 markets' locks and sends their heartbeats spread over time, 200 a second, the
/// way 200 idle workers at 1 s heartbeats do. The watchdog wakes far less than once per heartbeat,
/// every heartbeat is still counted, and an event sent meanwhile is applied and acked.
@Suite struct WatchdogRestTests {
    static let markets = (0..<60).map { String(format: "Q%02d", $0) }
    static let heartbeatsPerSecond = 200.0

    func config() -> String {
        let map = Self.markets.map { "\"X\($0)\": \"\($0)\"" }.joined(separator: ", ")
        let markets = Self.markets.map { "\"\($0)\": {\"execution\": \"X\($0)\", \"streams\": {\"\($0)S1\": {\"instrument\": \"\($0)\"}}}" }
            .joined(separator: ", ")
        return """
            {"instrument_map": {\(map)}, "markets": {\(markets)},
             "timings": {"heartbeat_interval_seconds": 1, "invariants_interval_seconds": 60, "heartbeat_late_intervals": 2,
                         "heartbeat_lost_seconds": 120},
             "safety": {"unobserved_seconds": 240}}
            """
    }

    /// Context switches of every thread of `pid` so far (voluntary and not): its wakeups.
    func switches(_ pid: Int32) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var total = 0
        for tid in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n")
            where line.hasPrefix("voluntary_ctxt_switches") || line.hasPrefix("nonvoluntary_ctxt_switches") {
                total += Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
        }
        return total
    }

    func line(_ market: String, run: String, type: String, seq: Int?) -> [UInt8] {
        let seqField = seq.map { "\"seq\":\($0)," } ?? ""
        let data = type == "HEARTBEAT" ? #"{"mode":"AGGRESSIVE","interval_seconds":1}"# : #"{"connected":true}"#
        return Array(
            #"{"v":1,"type":"\#(type)","market":"\#(market)","run_id":"\#(run)","pid":\#(getpid()),"fence":1,\#(seqField)"ts":"\#(UTCTimestamp.now())","data":\#(data)}"#
                .utf8)
    }

    @Test func heartbeatsOfManyMarketsShareWakeupsAndAnEventMeanwhileIsStillAcked() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try config().write(toFile: home.configPath, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: home.lockDir, withIntermediateDirectories: true)
        var locks: [Int32] = []
        defer { for fd in locks { close(fd) } }
        for m in Self.markets {
            let fd = open(home.lockDir + "/canonical_\(m).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            try #require(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot hold the lock of \(m)")
            locks.append(fd)
        }
        let watchdog = try home.startWatchdog()
        let runs = Self.markets.map { "\($0)-20261121T071500Z-\(String(format: "%08x", getpid()))" }
        var clients: [LineClient] = []
        for (m, run) in zip(Self.markets, runs) {
            let client = try LineClient(path: home.watchdogSocket)
            try client.send(
                Array(
                    #"{"v":1,"type":"hello","role":"worker","market":"\#(m)","run_id":"\#(run)","pid":\#(getpid()),"fence":1,"resume_runs":[]}"#
                        .utf8))
            let welcome = String(decoding: try client.readLine(timeoutSeconds: 10), as: UTF8.self)
            try #require(welcome.contains("\"welcome\""), "\(m): \(welcome)")
            clients.append(client)
        }

        // 200 heartbeats a second, one at a time, round the markets, paced on the monotonic clock:
        // one second for the watchdog to learn the rate, then two measured seconds.
        let step = Int64(1e9 / Self.heartbeatsPerSecond)
        let start = MonotonicClock.nowNanos()
        var sent = 0
        var measuredFrom: (switches: Int, sent: Int)?
        var eventSent: Int64?
        while true {
            let due = start + Int64(sent) * step
            let now = MonotonicClock.nowNanos()
            if now < due {
                var ts = timespec(tv_sec: 0, tv_nsec: Int(due - now))
                nanosleep(&ts, nil)
                continue
            }
            if measuredFrom == nil, now - start >= 1_000_000_000 { measuredFrom = (switches(watchdog.pid), sent) }
            if now - start >= 3_000_000_000 { break }
            let i = sent % Self.markets.count
            try clients[i].send(line(Self.markets[i], run: runs[i], type: "HEARTBEAT", seq: nil))
            sent += 1
            if eventSent == nil, now - start >= 2_000_000_000 {
                try clients[0].send(line(Self.markets[0], run: runs[0], type: "FEED_STATUS", seq: 1))
                eventSent = now
            }
        }
        let from = try #require(measuredFrom)
        let wakeups = switches(watchdog.pid) - from.switches
        let heartbeats = sent - from.sent
        print("rest: \(heartbeats) heartbeats in 2 s woke the watchdog \(wakeups) times")
        // Once per heartbeat without the rest; with it about 50 a second plus the timers.
        #expect(wakeups * 2 < heartbeats, "\(heartbeats) heartbeats woke the watchdog \(wakeups) times")

        // The event sent among them is applied and acked (a rest only delays a read).
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let text = String(decoding: try clients[0].readLine(timeoutSeconds: deadline.timeIntervalSinceNow), as: UTF8.self)
            seen.append(text)
            if text.contains("\"ack\"") && text.contains("\"seq\":1") { break }
        }
        #expect(seen.last?.contains("\"ack\"") == true, "no ack of the event within 5 s: \(seen)")

        // Every heartbeat was counted: nothing read late was lost.
        var counted: [Int64] = []
        try waitFor("every heartbeat to be counted", timeout: 10, seen: { "\(counted.reduce(0, +)) of \(sent): \(counted)" }) {
            () -> Bool? in
            guard let status = home.quickStatus() else { return nil }
            counted = Self.markets.map { status.markets[$0]?.counters.heartbeats ?? 0 }
            return counted.reduce(0, +) == Int64(sent) ? true : nil
        }
        #expect(watchdog.isRunning)
    }
}
