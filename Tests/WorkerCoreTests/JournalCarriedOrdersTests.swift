import Foundation
import Platform
import RobotConfig
import TestSupport
import Testing
import Wire

@testable import WorkerCore

/// The journal carries an accepted order to the next start (the snapshot is not rewritten when an
/// order is placed or accepted): `JournalVerifier.State.accepted`, `FenceMemory.accepted` and
/// `FenceMemory.restoring`, without processes.
@Suite struct JournalCarriedOrdersTests {
    static func event(_ type: EventType, seq: Int64, _ data: JSONObject, fence: Int64 = 2) -> Event {
        Event(
            type: type.rawValue, market: "ES", runID: "ES-20260101T000000Z-00000002", pid: 10, fence: fence, seq: seq,
            ts: "2026-01-01T00:00:0\(seq).000000Z", data: data)
    }

    static func placed(_ id: String, stream: String, seq: Int64) -> Event {
        event(
            .orderPlaced, seq: seq,
            [
                "client_order_id": .string(id), "stream": .string(stream), "symbol": "MES", "side": "BUY", "quantity": 2,
                "limit": .double(5000.25),
                "status": "PENDING", "fence": 2,
            ])
    }

    static func answer(_ type: EventType, _ id: String, seq: Int64, at: String = "2026-01-01T00:00:09.000000Z") -> Event {
        event(type, seq: seq, ["client_order_id": .string(id), "accepted_at_utc": .string(at)])
    }

    /// Placed A (accepted, still open), B (accepted, then filled), C (placed, no answer), D (accepted, cancelled).
    static let history: [Event] = [
        placed("SIM-ES-F2-000001", stream: "ES1", seq: 1), placed("SIM-ES-F2-000002", stream: "ES2", seq: 2),
        answer(.orderAccepted, "SIM-ES-F2-000001", seq: 3), answer(.orderAccepted, "SIM-ES-F2-000002", seq: 4),
        answer(.orderFilled, "SIM-ES-F2-000002", seq: 5), placed("SIM-ES-F2-000003", stream: "ES3", seq: 6),
        placed("SIM-ES-F2-000004", stream: "ES4", seq: 7), answer(.orderAccepted, "SIM-ES-F2-000004", seq: 8),
        answer(.orderCancelled, "SIM-ES-F2-000004", seq: 9),
    ]

    static func state(_ events: [Event] = history) -> JournalVerifier.State {
        var v = JournalVerifier()
        for (i, e) in events.enumerated() { v.check(event: e, lineNumber: i + 1) }
        #expect(v.passed, "\(v.problems)")
        return v.state
    }

    static func snapshot(_ orders: [SimOrder]) -> WorkerSnapshot {
        WorkerSnapshot(
            market: "ES", runID: "ES-r", fence: 2, mode: .aggressive, latch: nil, latchCleared: nil, orders: orders, positions: ["ES1": 1],
            venuePositions: [], writtenAtUTC: "2026-01-01T00:00:00.500000Z")
    }

    @Test func theStateKeepsAnAcceptedOrderWholeUntilItIsFilledCancelledRejectedOrTimedOut() throws {
        let s = Self.state()
        #expect(Array(s.accepted.keys) == ["SIM-ES-F2-000001"])
        let a = try #require(s.accepted["SIM-ES-F2-000001"])
        #expect(a.status == .open)
        #expect(a.acceptedAtUTC == "2026-01-01T00:00:09.000000Z")
        #expect(a.placedAtUTC == "2026-01-01T00:00:01.000000Z", "the placement's time, not the acceptance's")
        #expect((a.stream, a.symbol, a.side, a.quantity, a.limit, a.fence) == ("ES1", "MES", .buy, 2, 5000.25, 2))
        #expect(Array(s.unanswered.keys) == ["SIM-ES-F2-000003"])
        for close in [EventType.orderFilled, .orderCancelled, .orderRejected, .orderTimeout] {
            let closed = Self.state(Self.history + [Self.answer(close, "SIM-ES-F2-000001", seq: 10)])
            #expect(closed.accepted.isEmpty, "\(close.rawValue) closes it")
        }
        // A repeated acceptance (the venue's duplicate answer) keeps the order as first placed.
        let again = Self.state(Self.history + [Self.answer(.orderAccepted, "SIM-ES-F2-000001", seq: 10)])
        #expect(again.accepted["SIM-ES-F2-000001"]?.placedAtUTC == "2026-01-01T00:00:01.000000Z")
    }

    @Test func anAcceptanceWithNoPlacementKnownIsKeptFromTheAcceptancesOwnData() throws {
        let adopted = Self.event(
            .orderAccepted, seq: 1,
            [
                "client_order_id": "SIM-ES-F1-000009", "stream": "ES2", "symbol": "MES", "side": "SELL", "quantity": 1, "limit": .null,
                "status": "OPEN", "accepted_at_utc": "2026-01-01T00:00:00.100000Z", "adopted": true,
            ])
        let o = try #require(Self.state([adopted]).accepted["SIM-ES-F1-000009"])
        #expect((o.stream, o.side, o.quantity, o.limit, o.status) == ("ES2", .sell, 1, nil, .open))
        #expect(o.acceptedAtUTC == "2026-01-01T00:00:00.100000Z")
    }

    @Test func thePrefixRecordCarriesTheAcceptedOrdersAndAnOldRecordStillLoads() throws {
        let s = Self.state()
        let decoded = try JSONDecoder().decode(JournalVerifier.State.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
        // A record written before the field existed: no accepted orders, the rest as it was.
        var old = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any])
        #expect(old.removeValue(forKey: "accepted") != nil)
        let legacy = try JSONDecoder().decode(JournalVerifier.State.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(legacy.accepted.isEmpty)
        #expect(legacy.acceptedAt == s.acceptedAt)
        #expect(legacy.unanswered == s.unanswered)
    }

    @Test func fenceMemoryCarriesTheJournalsAcceptedOrdersTheSnapshotLacksIntoTheRestoredBook() throws {
        let memory = FenceMemory(journal: Self.state(), snapshot: Self.snapshot([]))
        #expect(memory.accepted.map(\.clientOrderID) == ["SIM-ES-F2-000001"])
        #expect(memory.unanswered.map(\.clientOrderID) == ["SIM-ES-F2-000003"])
        let restored = try #require(memory.restoring(Self.snapshot([])))
        #expect(restored.orders.map(\.clientOrderID) == ["SIM-ES-F2-000001"])
        #expect(restored.orders.first?.status == .open)
        #expect(restored.positions == ["ES1": 1], "the rest of the snapshot as it was")
        // The same from the journal's bytes.
        let bytes = Self.history.flatMap { $0.encodedLine() }
        #expect(FenceMemory(journal: bytes, snapshot: Self.snapshot([])).accepted == memory.accepted)
        // No snapshot: nothing to restore into (the start adopts what the venue holds).
        #expect(memory.restoring(nil) == nil)
    }

    @Test func anOrderTheSnapshotHoldsIsNotAddedTwiceAndAStreamHoldsOneOrder() throws {
        var held = try #require(Self.state().accepted["SIM-ES-F2-000001"])
        held.status = .pending
        held.acceptedAtUTC = nil
        let memory = FenceMemory(journal: Self.state(), snapshot: Self.snapshot([held]))
        #expect(memory.accepted.isEmpty, "the snapshot holds it (as sent; remember(acceptedAt:) opens it)")
        #expect(memory.restoring(Self.snapshot([held]))?.orders == [held])
        // Another order of the snapshot on the same stream: the journal's is left to reconciliation.
        var other = held
        other.clientOrderID = "SIM-ES-F1-000007"
        let both = FenceMemory(journal: Self.state(), snapshot: Self.snapshot([other]))
        #expect(both.accepted.map(\.clientOrderID) == ["SIM-ES-F2-000001"])
        #expect(both.restoring(Self.snapshot([other]))?.orders.map(\.clientOrderID) == ["SIM-ES-F1-000007"])
    }

    /// The engine: placing does not write the snapshot; the loop's idle moment does; a fill of an
    /// order no snapshot holds writes it (holding the order) before the fill is journaled.
    @Test func placingLeavesTheSnapshotToTheIdleLoopAndAFillWritesItFirstWhenItLags() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let snapshotPath = folder.file("snapshot.json")
        let journal = try Journal(path: folder.file("events.ndjson"))
        let log = EventLog(market: "ES", runID: "ES-o", pid: 1, journal: journal)
        log.fence = 1
        var journaled: [String] = []
        log.forward = { event, _ in journaled.append(event.type) }
        let engine = Engine(
            market: "ES", symbol: "MES", streams: ["ES1"], log: log, settings: SafetySettings(), snapshotPath: snapshotPath, restored: nil,
            now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.start(checks: [])
        func snapshotText() throws -> String { String(decoding: try folder.read("snapshot.json"), as: UTF8.self) }
        var writes: [(snapshotHeldOrder: Bool, fillJournaled: Bool)] = []
        let write = engine.desk.persist
        guard case .placed(let first) = engine.place(stream: "ES1", side: .buy, quantity: 1, limit: nil) else {
            Issue.record("not placed")
            return
        }
        #expect(journaled.contains(EventType.orderPlaced.rawValue), "ORDER_PLACED synced before the venue heard of it")
        #expect(try !snapshotText().contains(first.clientOrderID), "no snapshot on the order path")
        #expect(engine.snapshotLags)
        engine.catchUpSnapshot()
        #expect(!engine.snapshotLags)
        #expect(try snapshotText().contains(first.clientOrderID), "the idle loop writes it")
        engine.catchUpSnapshot() // nothing lags: nothing written
        engine.tick(Tick(instrument: "MES", price: 5000, size: 1, time: UTCTimestamp.now()))
        #expect(engine.openOrders.isEmpty, "filled at the tick")
        // A second order filled before the loop was idle: the snapshot holds it before its fill's line.
        engine.desk.persist = {
            writes.append(
                (
                    engine.openOrders.contains { $0.clientOrderID.hasSuffix("000002") },
                    journaled.filter { $0 == EventType.orderFilled.rawValue }.count == 2
                ))
            write()
        }
        guard case .placed(let second) = engine.place(stream: "ES1", side: .sell, quantity: 1, limit: nil) else {
            Issue.record("not placed")
            return
        }
        engine.tick(Tick(instrument: "MES", price: 5001, size: 1, time: UTCTimestamp.now()))
        log.commit()
        #expect(writes.count == 2, "one before the fill's line, one after: \(writes)")
        #expect(writes.first?.snapshotHeldOrder == true)
        #expect(writes.first?.fillJournaled == false, "the snapshot holding the order came before the fill's line")
        #expect(try !snapshotText().contains(second.clientOrderID), "closed: the last snapshot no longer holds it")
    }

    /// A venue that answers when the test says (the paper venue deciding).
    final class HeldVenue: ExecutionVenue {
        let kind = "held"
        let isReachable = true
        let problem = ""
        var onEvent: ((VenueEvent) -> Void)?
        var placed: [VenueOrder] = []
        func start(fence: Int64) { onEvent?(.connected(highWater: fence)) }
        func place(_ order: VenueOrder) { placed.append(order) }
        func cancel(_ clientOrderID: String, fence: Int64) {}
        func fetchState(ids: [String], _ reply: @escaping (VenueState?) -> Void) { reply(VenueState(orders: [], positions: [])) }
        func tick(price: Double, timeUTC: String) {}
    }

    @Test func theIdleCatchUpWaitsWhileAnOrderWaitsForTheVenuesAnswer() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let log = EventLog(market: "ES", runID: "ES-h", pid: 1, journal: try Journal(path: folder.file("events.ndjson")))
        log.fence = 1
        let venue = HeldVenue()
        let engine = Engine(
            market: "ES", symbol: "MES", streams: ["ES1"], log: log, settings: SafetySettings(), snapshotPath: folder.file("snapshot.json"),
            restored: nil, venue: venue, now: { Double(MonotonicClock.nowNanos()) / 1e9 })
        engine.start(checks: [])
        #expect(engine.mode == .aggressive, "\(engine.modeReason)")
        guard case .placed = engine.place(stream: "ES1", side: .buy, quantity: 1, limit: 1) else {
            Issue.record("not placed")
            return
        }
        var sent = try #require(venue.placed.first)
        #expect(!engine.snapshotLags, "the venue has not answered: no write in the way of its answer")
        sent.status = "OPEN"
        sent.acceptedAtUTC = UTCTimestamp.now()
        venue.onEvent?(.accepted(sent, duplicate: false))
        #expect(engine.snapshotLags)
        engine.catchUpSnapshot()
        #expect(!engine.snapshotLags)
        #expect(String(decoding: try folder.read("snapshot.json"), as: UTF8.self).contains(sent.clientOrderID))
    }
}
