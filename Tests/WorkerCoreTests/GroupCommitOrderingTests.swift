import Platform
import TestSupport
import Testing
import Wire

@testable import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// The worker's group commit (issue 20): the events of one loop iteration share one fdatasync,
/// and none is forwarded (sent to the watchdog, which alone can ack it) before its line is
/// durable. An injected slow fsync looks, while it "syncs", at what was already forwarded.
@Suite struct GroupCommitOrderingTests {
    /// A journal whose fsync takes `delay` and records what had been forwarded when it began.
    final class Probe: @unchecked Sendable {
        var forwarded: [Int64] = []
        var forwardedAtSync: [[Int64]] = []
        var fail = false
        var syncs = 0
    }

    func make(_ folder: TemporaryFolder, _ probe: Probe, delay: useconds_t = 20_000) throws -> (EventLog, Journal, () -> Void) {
        let journal = try Journal(path: folder.file("events.ndjson")) { fd in
            probe.syncs += 1
            probe.forwardedAtSync.append(probe.forwarded)
            usleep(delay)
            return probe.fail ? -1 : fdatasync(fd)
        }
        let log = EventLog(market: "ES", runID: "ES-g", pid: 1, journal: journal)
        log.fence = 1
        log.forward = { event, _ in probe.forwarded.append(event.seq ?? -1) }
        var scheduled: [() -> Void] = []
        log.enableGroupCommit { scheduled.append($0) }
        let endOfIteration = {
            let due = scheduled
            scheduled = []
            for body in due { body() }
        }
        return (log, journal, endOfIteration)
    }

    @Test func oneIterationsEventsShareOneSyncAndNoneIsSentBeforeIt() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let probe = Probe()
        let (log, journal, endOfIteration) = try make(folder, probe)
        for _ in 0..<5 { #expect(log.emit(.orderPlaced, [:]) != nil) }
        #expect(probe.forwarded.isEmpty, "nothing goes out before the commit")
        #expect(probe.syncs == 0)
        #expect(journal.size == 0, "not even written before the end of the iteration")
        #expect(log.uncommitted == 5)
        endOfIteration()
        #expect(probe.syncs == 1, "one fdatasync for the iteration")
        #expect(probe.forwardedAtSync == [[]], "nothing was forwarded while the sync ran")
        #expect(probe.forwarded == [1, 2, 3, 4, 5])
        #expect(log.uncommitted == 0)
        // The next iteration: its own sync, again before its events go out.
        log.emit(.orderFilled, [:])
        log.emit(.heartbeat, [:])
        endOfIteration()
        #expect(probe.syncs == 2)
        #expect(probe.forwardedAtSync.last == [1, 2, 3, 4, 5])
        #expect(probe.forwarded == [1, 2, 3, 4, 5, 6, -1])
        let lines = try folder.read("events.ndjson").split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 7)
    }

    @Test func aFailedSyncSendsNothingKeepsTheSeqsAndIsTriedAgain() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let probe = Probe()
        let (log, journal, endOfIteration) = try make(folder, probe, delay: 1000)
        var writes: [Bool] = []
        log.onWrite = { writes.append($0) }
        probe.fail = true
        log.emit(.orderPlaced, [:])
        log.emit(.orderPlaced, [:])
        endOfIteration()
        #expect(probe.forwarded.isEmpty, "a batch that did not sync is not sent")
        #expect(writes == [false])
        #expect(journal.size == 0, "cut back off")
        #expect(log.uncommitted == 2)
        probe.fail = false
        log.emit(.orderPlaced, [:])
        endOfIteration()
        #expect(probe.forwarded == [1, 2, 3], "the held lines go first, with their seqs")
        #expect(writes == [false, true])
        #expect(probe.forwardedAtSync.last == [])
    }

    @Test func aCommitBeforeTheEndOfTheIterationMakesTheLinesDurableAtOnce() throws {
        // The snapshot and the clean stop commit first: what they follow is durable before them.
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let probe = Probe()
        let (log, _, endOfIteration) = try make(folder, probe, delay: 1000)
        log.emit(.orderPlaced, [:])
        log.commit()
        #expect(probe.forwarded == [1])
        endOfIteration() // the scheduled commit finds nothing left
        #expect(probe.syncs == 1)
    }

    @Test func withoutGroupCommitEveryEventIsSyncedOnItsOwn() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let probe = Probe()
        let journal = try Journal(path: folder.file("events.ndjson")) { fd in
            probe.syncs += 1
            probe.forwardedAtSync.append(probe.forwarded)
            return fdatasync(fd)
        }
        let log = EventLog(market: "ES", runID: "ES-s", pid: 1, journal: journal)
        log.forward = { event, _ in probe.forwarded.append(event.seq ?? -1) }
        log.emit(.orderPlaced, [:])
        log.emit(.orderPlaced, [:])
        #expect(probe.syncs == 2)
        #expect(probe.forwardedAtSync == [[], [1]])
    }
}
