import TestSupport
import Testing
import Wire
import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Journal")
struct JournalTests {
    @Test("append adds whole lines and size follows")
    func appendAndSize() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let journal = try Journal(path: folder.file("events.ndjson"))
        #expect(journal.path == folder.file("events.ndjson"))
        #expect(journal.size == 0)
        try journal.append(Array("{\"a\":1}\n".utf8))
        #expect(journal.size == 8)
        try journal.append(Array("{\"b\":2}\n{\"c\":3}\n".utf8))
        #expect(journal.size == 24)
        #expect(try folder.read("events.ndjson") == Array("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n".utf8))
    }

    @Test("opening appends to what is there")
    func reopen() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("events.ndjson", Array("old\n".utf8))
        let journal = try Journal(path: folder.file("events.ndjson"))
        #expect(journal.size == 4)
        try journal.append(Array("new\n".utf8))
        #expect(try folder.read("events.ndjson") == Array("old\nnew\n".utf8))
    }

    @Test("a journal in a folder that does not exist cannot be opened")
    func missingFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        do {
            _ = try Journal(path: folder.file("nowhere/events.ndjson"))
            Issue.record("opened a journal in a missing folder")
        } catch {
            #expect(error.code == ENOENT)
        }
    }

    @Test("repairTornTail cuts a partial last line and returns the bytes cut")
    func tornTail() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("events.ndjson", Array("line1\nline2\n{\"par".utf8))
        let journal = try Journal(path: folder.file("events.ndjson"))
        #expect(try journal.repairTornTail() == 5)
        #expect(journal.size == 12)
        #expect(try folder.read("events.ndjson") == Array("line1\nline2\n".utf8))
        #expect(try journal.repairTornTail() == 0)
        // The next append lands right after the last complete line.
        try journal.append(Array("line3\n".utf8))
        #expect(try folder.read("events.ndjson") == Array("line1\nline2\nline3\n".utf8))
    }

    @Test("repairTornTail leaves a clean or empty file alone")
    func cleanFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let empty = try Journal(path: folder.file("empty.ndjson"))
        #expect(try empty.repairTornTail() == 0)
        #expect(empty.size == 0)
        try folder.write("clean.ndjson", Array("a\nb\n".utf8))
        let clean = try Journal(path: folder.file("clean.ndjson"))
        #expect(try clean.repairTornTail() == 0)
        #expect(try folder.read("clean.ndjson") == Array("a\nb\n".utf8))
    }

    @Test("a file with no newline at all is cut to nothing")
    func noNewline() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try folder.write("events.ndjson", Array("{\"v\":1,\"ty".utf8))
        let journal = try Journal(path: folder.file("events.ndjson"))
        #expect(try journal.repairTornTail() == 10)
        #expect(journal.size == 0)
    }

    @Test("a torn tail longer than one read chunk is cut at the last newline before it")
    func longTornTail() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let head = Array("first\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 5000) + [UInt8(ascii: "\n")]
        let tail = [UInt8](repeating: UInt8(ascii: "y"), count: 10_000)
        try folder.write("events.ndjson", head + tail)
        let journal = try Journal(path: folder.file("events.ndjson"))
        #expect(try journal.repairTornTail() == 10_000)
        #expect(journal.size == head.count)
        #expect(try folder.read("events.ndjson") == head)
    }

    @Test("a failed write throws and leaves nothing behind (/dev/full)")
    func failedWrite() throws {
        let journal = try Journal(path: "/dev/full")
        do {
            try journal.append(Array("{\"a\":1}\n".utf8))
            Issue.record("a write to /dev/full succeeded")
        } catch {
            #expect(error.code == ENOSPC)
        }
    }
}

/// Collects what an EventLog forwards.
final class Forwarded {
    var items: [(event: Event, line: [UInt8])] = []
}

@Suite("EventLog")
struct EventLogTests {
    static let micros: Int64 = 1_795_245_300_123_456

    @Test("events get seq 1, 2, 3; heartbeats get none and carry the last seq")
    func sequence() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let journal = try Journal(path: folder.file("events.ndjson"))
        let log = EventLog(market: "ES", runID: "ES-run-1", pid: 4242, journal: journal, clock: { Self.micros })
        let forwarded = Forwarded()
        log.forward = { forwarded.items.append(($0, $1)) }
        #expect(log.fence == 0)
        #expect(log.lastSeq == 0)

        let early = try #require(log.emit(.heartbeat, [:]))
        #expect(early.seq == nil)
        #expect(early.fence == 0)
        #expect(early.data["last_seq"] == .int(0))

        log.fence = 5
        let first = try #require(log.emit(.lockAcquired, ["fence": 5]))
        let second = try #require(log.emit(.identityInvariantsStatus, ["pass": true]))
        let beat = try #require(log.emit(.heartbeat, ["uptime_seconds": 1, "last_seq": 99]))
        let third = try #require(log.emit(.configReloaded, [:]))
        let lastBeat = try #require(log.emit(.heartbeat, [:]))

        #expect(first.seq == 1)
        #expect(second.seq == 2)
        #expect(beat.seq == nil)
        #expect(beat.data["last_seq"] == .int(2))
        #expect(beat.data.keys == ["uptime_seconds", "last_seq"])
        #expect(third.seq == 3)
        #expect(lastBeat.seq == nil)
        #expect(lastBeat.data["last_seq"] == .int(3))
        #expect(log.lastSeq == 3)
        #expect(log.writeFailures == 0)
        #expect(log.lastWriteError == nil)

        #expect(first.type == "CANONICAL_MARKET_LOCK_ACQUIRED")
        #expect(first.market == "ES")
        #expect(first.runID == "ES-run-1")
        #expect(first.pid == 4242)
        #expect(first.fence == 5)
        #expect(first.ts == "2026-11-21T07:15:00.123456Z")
        #expect(first.data == ["fence": 5])

        // Forwarded in order, each with its own line, and journaled first.
        let events = [early, first, second, beat, third, lastBeat]
        #expect(forwarded.items.map(\.event) == events)
        #expect(forwarded.items.map(\.line) == events.map { $0.encodedLine() })
        let journaled = try folder.read("events.ndjson")
        #expect(journaled == events.flatMap { $0.encodedLine() })
        #expect(journal.size == journaled.count)

        // Every journaled line is a valid event again.
        let lines = journaled.split(separator: UInt8(ascii: "\n")).map { Array($0) }
        #expect(lines.count == 6)
        #expect(try lines.map { try Event.decode(line: $0) } == events)
    }

    @Test("an event that cannot be journaled is neither forwarded nor counted (/dev/full)")
    func failedJournal() throws {
        let journal = try Journal(path: "/dev/full")
        let log = EventLog(market: "NQ", runID: "NQ-run-1", pid: 7, journal: journal, clock: { Self.micros })
        let forwarded = Forwarded()
        log.forward = { forwarded.items.append(($0, $1)) }
        #expect(log.emit(.lockAcquired, [:]) == nil)
        #expect(log.emit(.heartbeat, [:]) == nil)
        #expect(log.lastSeq == 0)
        #expect(log.writeFailures == 2)
        #expect(log.lastWriteError?.code == ENOSPC)
        #expect(forwarded.items.isEmpty)
    }
}
