import Foundation
import Platform
import Testing
import Wire

/// The snapshot is not rewritten when an order is placed or accepted; the journal carries the order
/// to the next start (docs/robot-worker.md, "The snapshot lags the journal"). A worker SIGKILLed
/// after an order's `ORDER_ACCEPTED` is journaled and before any snapshot holds the order (its idle
/// loop's catch-up held off by `ROBOT_TEST_SNAPSHOT_LAG=1`) starts again with the order open, its
/// reconciliation clean: no `RECONCILIATION_MISMATCH`, the order neither lost nor doubled.
@Suite(.serialized) struct SnapshotLagTests {
    func ids(_ home: TestHome, _ type: EventType) -> [String] {
        home.events("ES", type: type).compactMap { $0.data["client_order_id"]?.stringValue }
    }

    @Test(arguments: ["sim", "paper"])
    func aWorkerKilledAfterAnAcceptanceNoSnapshotHoldsKeepsTheOrderAtItsNextStart(_ kind: String) throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(TestHome.venueConfig(venue: #"{"kind": "\#(kind)"}"#))
        if kind == "paper" { try home.startVenue() }
        var worker = try home.startWorker(environment: ["ROBOT_TEST_SNAPSHOT_LAG": "1"])
        try waitFor("AGGRESSIVE", seen: { home.mode() ?? "-" }) { home.mode() == "AGGRESSIVE" ? true : nil }
        // A limit buy far below the market: accepted, never filled.
        let answer = try home.control(#"{"v":1,"type":"order","side":"buy","quantity":1,"stream":"ES1","limit":1}"#)
        #expect(answer["outcome"]?.stringValue == "placed", "\(answer)")
        let id = try #require(answer["orders"]?.arrayValue?.first?.objectValue?["client_order_id"]?.stringValue)
        #expect(ids(home, .orderAccepted) == [id], "the answer follows the journaled acceptance")
        let snapshotPath = home.stateDir + "/ES/snapshot.json"
        let snapshot = try String(contentsOfFile: snapshotPath, encoding: .utf8)
        #expect(snapshot.contains("\"run_id\""), "a snapshot exists (written at start)")
        #expect(!snapshot.contains(id), "no snapshot holds the order: \(snapshot)")
        worker.signal(SIGKILL)
        _ = try worker.waitForExit()
        #expect(try !String(contentsOfFile: snapshotPath, encoding: .utf8).contains(id))

        worker = try home.startWorker()
        let r = try waitFor("the new run's reconciliation", seen: { "\(home.events("ES").map(\.type).suffix(6))" }) {
            home.events("ES", type: .reconciliation).first { $0.pid == worker.pid }
        }
        #expect(r.data["clean"]?.boolValue == true, "\(r.data)")
        #expect(r.data["matched"]?.stringArrayValue == [id], "\(r.data)")
        for key in ["adopted", "resent", "cancelled", "filled", "closed", "mismatched"] {
            #expect(r.data[key]?.stringArrayValue == [], "\(key): \(r.data)")
        }
        try waitFor("AGGRESSIVE again", seen: { home.mode() ?? "-" }) { home.mode() == "AGGRESSIVE" ? true : nil }
        #expect(home.events("ES", type: .failsafeTriggered).isEmpty, "\(home.events("ES", type: .failsafeTriggered).map(\.data))")
        // Once in the journal: placed, accepted; no NOT_SENT rejection, no second acceptance.
        #expect(ids(home, .orderPlaced) == [id])
        #expect(ids(home, .orderAccepted) == [id])
        #expect(ids(home, .orderRejected).isEmpty)
        let orders = try home.control(#"{"v":1,"type":"orders"}"#)
        let open = orders["orders"]?.arrayValue?.compactMap { $0.objectValue } ?? []
        #expect(open.map { $0["client_order_id"]?.stringValue } == [id], "\(orders)")
        #expect(open.first?["status"]?.stringValue == "OPEN", "\(orders)")
        if kind == "paper" {
            let probe = try VenueProbe(path: home.venueSocket, fence: 1)
            #expect(try probe.state(ids: []).orders.map(\.clientOrderID) == [id])
        }
        // The new run's snapshot holds it, and it is the worker's to cancel: the venue held it.
        try waitFor("the snapshot to hold \(id)") {
            ((try? String(contentsOfFile: snapshotPath, encoding: .utf8)) ?? "").contains(id) ? true : nil
        }
        let cancel = try home.control(#"{"v":1,"type":"cancel","client_order_id":"\#(id)"}"#)
        #expect(cancel["ok"]?.boolValue == true, "\(cancel)")
        try waitFor("ORDER_CANCELLED", seen: { "\(home.events("ES").map(\.type).suffix(4))" }) {
            ids(home, .orderCancelled) == [id] ? true : nil
        }
        worker.signal(SIGTERM)
        #expect(try worker.waitForExit() == 0)
    }
}
