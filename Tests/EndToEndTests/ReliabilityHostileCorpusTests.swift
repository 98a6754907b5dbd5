import Foundation
import Platform
import Testing

/// Issue 9, "hostile input": the fuzzer's corpus (fuzz/corpus) and seeded mutations of it, sent to a
/// live watchdog and a live supervisor control socket from many connections at once, while real
/// workers and well-behaved clients keep being served. Nothing goes down, every rejection is counted
/// with its reason, and memory stays bounded (peak RSS reported).
@Suite struct ReliabilityHostileCorpusTests {
    static let connections = 64
    static let linesPerConnection = 2000

    /// Every corpus file's lines (a file may hold several), plus seeded mutations of each.
    static func corpus(seed: UInt64) throws -> [[UInt8]] {
        let dir = MetricsProbe.packageRoot + "/fuzz/corpus"
        var lines: [[UInt8]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
            lines += bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        }
        var mutated: [[UInt8]] = []
        for (i, line) in lines.enumerated() {
            for k in 0..<3 {
                var m = Damage.apply(line, seed: seed &+ UInt64(i * 3 + k))
                m.removeAll { $0 == UInt8(ascii: "\n") }
                mutated.append(m)
            }
        }
        return lines + mutated
    }

    /// Peak resident set (VmHWM) of `pid`, in bytes.
    static func peakRSS(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
    }

    @Test func theCorpusFromManyConnectionsAtOnceIsCountedByReasonAndEveryProcessKeepsServing() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        // Timeouts loose enough for a loaded CI machine or a sanitizer build: this test is about input.
        var timings = SupervisorTimings()
        timings.watchdog = 5
        var config = TestConfig().supervised(timings)
        config.invariantsInterval = 0.05
        config.lostSeconds = 5
        config.extraSections["watchdog"] = #"{"hello_timeout_seconds": 1, "max_connections": 512}"#
        try home.writeConfig(config)
        let watchdog = try home.startWatchdog()
        let supervisor = try home.startSupervisor()
        let before = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        let runs = try ["ES", "NQ", "CL"].map { m in (m, try home.runID(m, pid: before.pid(m)!)) }
        try waitFor("the workers applied") { () -> Bool? in
            let s = home.quickStatus()
            return runs.allSatisfy { (s?.markets[$0.0]?.applied($0.1) ?? 0) > 0 } ? true : nil
        }
        let corpus = try Self.corpus(seed: 0x5EED)
        let me = getpid()
        // Preludes: none (the first corpus line is the hello), an operator, a fence-0 worker of ES.
        let preludes = [
            "", #"{"v":1,"type":"hello","role":"operator"}"# + "\n",
            #"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"ES-20261121T071500Z-0000c0de","pid":\#(me),"fence":0}"# + "\n",
        ]

        let start = Date()
        var served = 0
        var supervisorAnswers = 0
        let group = DispatchGroup()
        for c in 0..<Self.connections {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var rng = SplitMix64(seed: UInt64(c) &+ 77)
                let target = c % 2 == 0 ? home.watchdogSocket : home.supervisorSocket
                guard let client = try? RawClient(path: target) else { return }
                var tv = timeval(tv_sec: 0, tv_usec: 1000)
                setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if target == home.watchdogSocket { client.write(preludes[(c / 2) % preludes.count]) }
                for _ in 0..<Self.linesPerConnection {
                    client.write(corpus.randomElement(using: &rng)! + [UInt8(ascii: "\n")])
                }
                // Answers are never read: the processes must not buffer without bound for a peer that does not read.
            }
        }
        // Meanwhile, well-behaved peers are served.
        while group.wait(timeout: .now() + 0.05) == .timedOut {
            if home.quickStatus() != nil { served += 1 }
            if (try? home.supervisorStatus()) != nil { supervisorAnswers += 1 }
        }
        let elapsed = Date().timeIntervalSince(start)
        #expect(
            served > 0 && supervisorAnswers > 0, "served \(served) watchdog and \(supervisorAnswers) supervisor status requests meanwhile")

        var last = ""
        let after = try waitFor("the workers still applied after the storm", timeout: 30, seen: { last }) { () -> StatusJSON? in
            let s = home.quickStatus()
            last = runs.map { "\($0.0): \(s?.markets[$0.0]?.heartbeatState ?? "?") \(s?.markets[$0.0]?.lock?.runId ?? "?") (was \($0.1))" }
                .joined(separator: ", ")
            return runs.allSatisfy { (s?.markets[$0.0]?.heartbeatState == "OK") && (s?.markets[$0.0]?.lock?.runId == $0.1) } ? s : nil
        }
        #expect(watchdog.isRunning && supervisor.isRunning)
        let states = try home.waitForStates(["ES": "RUNNING", "NQ": "RUNNING", "CL": "RUNNING"])
        for m in ["ES", "NQ", "CL"] { #expect(states.pid(m) == before.pid(m), "\(m) worker never restarted") }
        for (m, run) in runs {
            let market = try #require(after.markets[m])
            #expect(market.counters.gaps == 0 && market.counters.staleFence == 0, "\(m)")
            #expect(market.mode == "AGGRESSIVE" && market.alerts.isEmpty, "\(m): \(market.alerts.map(\.condition))")
            #expect(market.counters.events == market.runs.reduce(0) { $0 + $1.appliedSeq }, "\(m): each event applied once")
            _ = run
        }
        let rejected = after.rejected.filter { $0.value > 0 }
        #expect(rejected.values.reduce(0, +) > 1000, "\(rejected)")
        for reason in ["invalid_json", "bad_hello", "invalid_field"] { #expect((rejected[reason] ?? 0) > 0, "\(reason): \(rejected)") }
        let supRejected = try #require(home.supervisorStatus()?["rejected"]?.objectValue).members.reduce(into: [String: Int64]()) {
            $0[$1.key] = $1.value.intValue ?? 0
        }
        #expect((supRejected["invalid_request"] ?? 0) > 500, "the supervisor counts what it refuses: \(supRejected)")
        let peakWatchdog = Self.peakRSS(watchdog.pid)
        let peakSupervisor = Self.peakRSS(supervisor.pid)
        // A sanitizer build keeps freed memory in quarantine (ASan: 256 MiB) and shadows it: allow for that.
        let sanitized = Binaries.directory.contains(".build-asan") || Binaries.directory.contains(".build-tsan")
        let limit = sanitized ? 1 << 30 : 256 << 20
        #expect(peakWatchdog < limit && peakSupervisor < limit, "peak RSS watchdog \(peakWatchdog), supervisor \(peakSupervisor)")
        let report = """
            hostile corpus: \(corpus.count) distinct lines, \(Self.connections) connections x \(Self.linesPerConnection) lines in \
            \(String(format: "%.1f", elapsed)) s; watchdog rejections \(rejected.sorted { $0.key < $1.key }); \
            supervisor rejections \(supRejected.sorted { $0.key < $1.key }); \
            served meanwhile: \(served) watchdog status, \(supervisorAnswers) supervisor status; \
            peak RSS watchdog \(peakWatchdog >> 10) KiB, supervisor \(peakSupervisor >> 10) KiB
            """
        print(report)
        try? report.write(
            toFile: FileManager.default.temporaryDirectory.path + "/robot-hostile-corpus.txt", atomically: true, encoding: .utf8)
    }
}
