import Foundation
import Platform
import Testing
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The journal while the watchdog is away (issue 20): it rotates into segments instead of growing,
/// every un-acked event in them is re-offered in order when the watchdog returns (by a worker that
/// was killed and restarted meanwhile too), and a ceiling on un-acked bytes holds OBSERVE_ONLY
/// with one alert until acks bring it back under. Real processes over real sockets.
@Suite struct JournalSegmentsTests {
    func config(maxBytes: Int, ceiling: Int) -> TestConfig {
        var c = TestConfig()
        c.markets = ["ES": ("MES", [("ES1", "ES")])]
        c.extraSections["safety"] = "{\"health_interval_seconds\": 0.05}"
        c.extraSections["worker"] = "{\"journal_max_bytes\": \(maxBytes), \"journal_max_unacked_bytes\": \(ceiling)}"
        return c
    }

    func files(_ home: TestHome) -> JournalFiles { JournalFiles(folder: home.stateDir + "/ES") }

    func segments(_ home: TestHome) -> [String] { files(home).segments }

    /// Every event of the segments, then of `events.ndjson`.
    func allEvents(_ home: TestHome) -> [Event] { JournalFiles.events(segments(home) + [files(home).current]) }

    @Test func segmentsSpanningAnOutageAreReofferedCompletelyAndInOrder() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config(maxBytes: 4096, ceiling: 1 << 30))
        // Run A: no watchdog; its journal is sealed into segments instead of growing.
        let first = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("three segments", timeout: 20, seen: { "\(segments(home)) \(first.stderr.suffix(500))" }) {
            segments(home).count >= 3 ? true : nil
        }
        #expect(((try? FileManager.default.attributesOfItem(atPath: home.journal("ES"))[.size] as? Int) ?? 0) <= 4096 + 2048)
        first.signal(SIGKILL)
        _ = try first.waitForExit()
        let runA = try #require(allEvents(home).first?.runID)
        let lastA = allEvents(home).filter { $0.runID == runA }.compactMap(\.seq).max() ?? 0
        #expect(lastA > 20)
        // Run B, still no watchdog: more segments, now spanning two runs.
        let before = segments(home).count
        let second = try home.start("robot-worker", ["--market", "ES"])
        try waitFor("run B's segments", timeout: 20, seen: { "\(segments(home))" }) { segments(home).count >= before + 2 ? true : nil }
        let runB = try #require(allEvents(home).last { $0.runID != runA && $0.seq != nil }?.runID)
        // Every seq of both runs is in the files, in order, once.
        for run in [runA, runB] {
            let seqs = allEvents(home).filter { $0.runID == run }.compactMap(\.seq)
            #expect(seqs == Array(1...Int64(seqs.count)), "run \(run) in the journal's files")
        }

        // The watchdog returns: run A is re-offered from the segments, run B's outbox goes too.
        _ = try home.startWatchdog()
        let status = try waitFor(
            "run A applied through \(lastA)", timeout: 30, seen: { "\(home.quickStatus()?.markets["ES"]?.runs ?? [])" }
        ) {
            () -> StatusJSON.Market? in
            guard let m = home.quickStatus()?.markets["ES"], m.applied(runA) == lastA, m.applied(runB) > 0 else { return nil }
            return m
        }
        #expect(status.counters.gaps == 0, "nothing missing or out of order")
        #expect(status.counters.duplicates == 0)
        // Once all is acked the segments are deleted; the journal goes on.
        try waitFor("the segments deleted", timeout: 20, seen: { "\(segments(home))" }) { segments(home).isEmpty ? true : nil }
        let lastB = allEvents(home).filter { $0.runID == runB }.compactMap(\.seq).max() ?? 0
        try waitFor("run B applied", timeout: 20, seen: { "\(home.quickStatus()?.markets["ES"]?.runs ?? [])" }) {
            (home.quickStatus()?.markets["ES"]?.applied(runB) ?? 0) >= lastB ? true : nil
        }
        #expect(home.quickStatus()?.markets["ES"]?.counters.gaps == 0)
        second.signal(SIGTERM)
        #expect(try second.waitForExit() == 0)
        // The newest segment, all acked, was kept as the rotated file: the acked history the
        // journal keeps runs without a gap into `events.ndjson`.
        let rotated = files(home).rotated
        let kept = JournalFiles.events([rotated, files(home).current]).filter { $0.runID == runB }.compactMap(\.seq)
        #expect(FileManager.default.fileExists(atPath: rotated), "no \(rotated) after the segments were acked")
        if let low = kept.first {
            #expect(kept == Array(low...(low + Int64(kept.count) - 1)), "run B in \(rotated) and the journal: \(kept)")
        }
        // The next start trusts what this run verified: its prefix matches.
        let verify = try home.start("robot-worker", ["verify", "--market", "ES"], name: "verify")
        #expect(try verify.waitForExit() == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("OK"), "\(verify.stdout)")
        #expect(verify.stdout.contains("verified prefix of"), "\(verify.stdout)")
        // A digit changed inside the verified prefix keeps every line an event: the full check
        // passes, the checksum does not, and verify says so with exit 1.
        var bytes = try #require(FileManager.default.contents(atPath: home.journal("ES")))
        let key = Data("\"pid\":".utf8)
        let at = try #require(bytes.range(of: key)?.upperBound)
        bytes[at] = bytes[at] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try bytes.write(to: URL(fileURLWithPath: home.journal("ES")))
        let damaged = try home.start("robot-worker", ["verify", "--market", "ES"], name: "verify")
        #expect(try damaged.waitForExit() == 1, "\(damaged.stdout)\(damaged.stderr)")
        #expect(damaged.stdout.contains("no longer matches its checksum"), "\(damaged.stdout)")
    }

    @Test func theUnackedCeilingHoldsObserveOnlyWithOneAlertAndClearsOnAcks() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config(maxBytes: 1 << 20, ceiling: 16384))
        let worker = try home.start("robot-worker", ["--market", "ES"])
        func modes() -> [Event] { home.events("ES", type: .systemModeChange) }
        let held = try waitFor("OBSERVE_ONLY for the ceiling", timeout: 20, seen: { "\(modes().map(\.data))" }) {
            modes().last {
                $0.data["to"]?.stringValue == "OBSERVE_ONLY" && ($0.data["reason"]?.stringValue ?? "").contains("journal_max_unacked_bytes")
            }
        }
        #expect(modes().first?.data["to"]?.stringValue == "AGGRESSIVE", "it traded before")
        // Orders are refused while it holds.
        let order = try home.start("robot-worker", ["order", "--market", "ES", "--side", "buy", "--qty", "1", "--limit", "1"], name: "cli")
        #expect(try order.waitForExit() == 1, "\(order.stdout)\(order.stderr)")

        _ = try home.startWatchdog()
        let cleared = try waitFor("AGGRESSIVE again after acks", timeout: 30, seen: { "\(modes().map(\.data))" }) {
            modes().last { $0.seq! > held.seq! && $0.data["to"]?.stringValue == "AGGRESSIVE" }
        }
        let reason = cleared.data["reason"]?.stringValue ?? ""
        #expect(reason.contains("under 90 %"), "\(cleared.data)")
        worker.signal(SIGTERM)
        _ = try worker.waitForExit()
        let alerts = worker.stderr.components(separatedBy: "\n").filter { $0.contains("holding OBSERVE_ONLY") }
        #expect(alerts.count == 1, "one alert: \(alerts)")
    }
}
