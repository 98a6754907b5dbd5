import Platform
import RobotConfig
import TestSupport
import Testing
import Wire

@testable import WorkerCore

#if canImport(Glibc)
import Glibc
#endif

/// Under group commit an order still takes effect only once its line is durable (issue 20): the
/// engine commits the journal before the venue hears of the order, so by the time `place` answers
/// (the control socket's reply) the `ORDER_PLACED` line was fdatasynced and forwarded. The snapshot
/// is not written on the order path; when it catches up (the idle loop) it never holds an order the
/// journal does not.
@Suite struct OrderDurabilityTests {
    @Test func anOrdersLineIsDurableAndSentBeforePlaceAnswersAndBeforeTheSnapshotHoldsIt() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let snapshotPath = folder.file("snapshot.json")
        var forwarded: [String] = []
        // At each sync: what had been forwarded, and whether the snapshot already named an order.
        var atSync: [(forwarded: [String], snapshotHasOrder: Bool)] = []
        let journal = try Journal(path: folder.file("events.ndjson")) { fd in
            let snapshot = (try? FileIO.readFile(snapshotPath)).flatMap { $0 } ?? []
            atSync.append((forwarded, String(decoding: snapshot, as: UTF8.self).contains("SIM-")))
            usleep(5000)
            return fdatasync(fd)
        }
        let log = EventLog(market: "ES", runID: "ES-o", pid: 1, journal: journal)
        log.fence = 1
        log.forward = { event, _ in forwarded.append(event.type) }
        var scheduled: [() -> Void] = []
        log.enableGroupCommit { scheduled.append($0) }
        let engine = Engine(
            market: "ES", symbol: "MES", streams: ["ES1"], log: log, settings: SafetySettings(), snapshotPath: snapshotPath, restored: nil,
            now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.start(checks: [])
        #expect(engine.mode == .aggressive)
        let syncsBefore = atSync.count
        let reply = engine.place(stream: "ES1", side: .buy, quantity: 1, limit: 1)
        guard case .placed(let order) = reply else {
            Issue.record("not placed: \(reply)")
            return
        }
        // place answered: the order's line was synced first, and sent after that sync. (The
        // in-process SIM venue accepts at once, in the same call: its ORDER_ACCEPTED line takes a
        // second sync, at the end of the iteration.)
        #expect(atSync.count >= syncsBefore + 1)
        let first = atSync[syncsBefore]
        #expect(first.snapshotHasOrder == false, "the snapshot waited for the journal")
        #expect(first.forwarded.contains(EventType.orderPlaced.rawValue) == false, "not sent before its sync")
        #expect(forwarded.contains(EventType.orderPlaced.rawValue))
        #expect(atSync.count == syncsBefore + 1, "one sync on the order path")
        let afterPlace = atSync.count
        #expect(!String(decoding: try folder.read("snapshot.json"), as: UTF8.self).contains(order.clientOrderID), "no snapshot yet")
        #expect(scheduled.count >= 1)
        // The end of the iteration commits what is left (the SIM's acceptance) in one sync at most.
        for body in scheduled { body() }
        #expect(atSync.count <= afterPlace + 1)
        // The idle loop's catch-up: the journal first (nothing left), then the snapshot holding the order.
        engine.catchUpSnapshot()
        #expect(atSync.count <= afterPlace + 1)
        #expect(String(decoding: try folder.read("snapshot.json"), as: UTF8.self).contains(order.clientOrderID))
    }
}
