import Foundation
import Testing
import Wire

/// When the watchdog answers a worker's events: `applied` notices (asked for in the hello) as soon
/// as a read is applied, and the durable `ack` as soon as input pauses and the snapshot holding the
/// events is on disk, not a whole `snapshot_interval_seconds` later (the group commit).
@Suite struct WatchdogAckTimingTests {
    /// One minute of debounce: an ack that waited for it would miss every deadline below.
    func config() -> TestConfig {
        var c = TestConfig()
        c.extraSections["watchdog"] = #"{"snapshot_interval_seconds": 60}"#
        return c
    }

    /// A refused worker's connection from this process (fence 0, our own pid): the one kind of
    /// worker hello a process that holds no lock may send. Its own run's events are applied.
    func connect(_ home: TestHome, run: String, appliedNotices: Bool) throws -> LineClient {
        let client = try LineClient(path: home.watchdogSocket)
        let notices = appliedNotices ? #","applied_notices":true"# : ""
        try client.send(
            Array(#"{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"\#(run)","pid":\#(getpid()),"fence":0\#(notices)}"#.utf8))
        let welcome = String(decoding: try client.readLine(timeoutSeconds: 5), as: UTF8.self)
        #expect(welcome.contains("\"welcome\""), "\(welcome)")
        return client
    }

    func event(run: String, seq: Int) -> [UInt8] {
        Array(
            #"{"v":1,"type":"CANONICAL_MARKET_ALREADY_ACTIVE","market":"ES","run_id":"\#(run)","pid":\#(getpid()),"fence":0,"seq":\#(seq),"ts":"\#(UTCTimestamp.now())","data":{"holder_run_id":null}}"#
                .utf8)
    }

    /// The applied seq of `run` in the snapshot file on disk now.
    func snapshotApplied(_ home: TestHome, run: String) -> Int64 {
        guard let data = FileManager.default.contents(atPath: home.stateDir + "/watchdog/snapshot.json"),
            let runs = (try? JSONParser.parse(Array(data)))?.objectValue?["state"]?.objectValue?["markets"]?.objectValue?["ES"]?
                .objectValue?["runs"]?
                .arrayValue
        else { return 0 }
        return runs.compactMap(\.objectValue).first { $0["run_id"]?.stringValue == run }?["applied_seq"]?.intValue ?? 0
    }

    /// Reads lines until one satisfies `done`; returns every line read.
    func readUntil(_ client: LineClient, timeout: Double, _ done: (String) -> Bool) throws -> [String] {
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let line = String(decoding: try client.readLine(timeoutSeconds: deadline.timeIntervalSinceNow), as: UTF8.self)
            lines.append(line)
            if done(line) { return lines }
        }
        throw TestFailure("no such line within \(timeout) s; read \(lines)")
    }

    @Test func eventsAreAckedOnceOnDiskAsSoonAsInputPausesAndAppliedNoticesComeFirst() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config())
        let watchdog = try home.startWatchdog()
        let run = "ES-20261121T071500Z-\(String(getpid(), radix: 16))"
        let client = try connect(home, run: run, appliedNotices: true)
        let sent = Date()
        for seq in 1...5 { try client.send(event(run: run, seq: seq)) }
        let lines = try readUntil(client, timeout: 10) { $0.contains("\"ack\"") && $0.contains("\"seq\":5") }
        let ackSeconds = Date().timeIntervalSince(sent)
        // Durable before it is acked: the snapshot on disk already holds seq 5.
        #expect(snapshotApplied(home, run: run) == 5)
        print("ack timing: 5 events -> durable ack of seq 5 in \(Int(ackSeconds * 1000)) ms")
        // Measured 5-46 ms (a snapshot written and fsynced as soon as input pauses).
        #expect(ackSeconds < 0.5, "acked after \(ackSeconds) s: it waited for a debounce")
        let firstApplied = lines.firstIndex { $0.contains("\"type\":\"applied\"") }
        let firstAck = lines.firstIndex { $0.contains("\"type\":\"ack\"") }
        #expect(firstApplied != nil && firstApplied! < firstAck!, "applied notices come before the ack: \(lines)")
        #expect(lines.contains { $0.contains("\"type\":\"applied\"") && $0.contains("\"seq\":5") && $0.contains(run) }, "\(lines)")
        #expect(watchdog.isRunning)
    }

    @Test func aHelloThatDoesNotAskGetsAcksAndNoAppliedNotices() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(config())
        let watchdog = try home.startWatchdog()
        let run = "ES-20261121T071500Z-\(String(getpid(), radix: 16))"
        let client = try connect(home, run: run, appliedNotices: false)
        for seq in 1...3 { try client.send(event(run: run, seq: seq)) }
        let lines = try readUntil(client, timeout: 10) { $0.contains("\"ack\"") && $0.contains("\"seq\":3") }
        #expect(!lines.contains { $0.contains("\"applied\"") }, "\(lines)")
        #expect(watchdog.isRunning)
    }
}
