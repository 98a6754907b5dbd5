import Testing
import Wire

@testable import WorkerCore

@Suite struct ReconciliationTests {
    func known(_ id: String, _ status: SimOrder.Status, stream: String = "ES1") -> SimOrder {
        SimOrder(
            clientOrderID: id, stream: stream, symbol: "MES", side: .buy, quantity: 1, limit: 1, status: status, placedAtUTC: "t",
            placedAt: 0,
            fillPrice: nil, fence: 2)
    }

    func venue(_ id: String, _ status: String, fence: Int64 = 2, quantity: Int = 1, side: VenueSide = .buy) -> VenueOrder {
        VenueOrder(
            clientOrderID: id, account: "a", market: "ES", symbol: "MES", stream: "ES1", side: side, quantity: quantity, limit: 1,
            fence: fence,
            status: status, acceptedAtUTC: "t")
    }

    func position(_ q: Int) -> VenuePosition { VenuePosition(account: "a", market: "ES", symbol: "MES", quantity: q, averagePrice: 5000) }

    @Test func theSameBookOnBothSidesIsClean() {
        let r = Reconciliation(
            known: [known("A", .open)], knownPositions: ["MES": 2],
            venue: VenueState(orders: [venue("A", "OPEN")], positions: [position(2)]),
            fence: 2)
        #expect(r.clean)
        #expect(r.matched == ["A", "position MES 2"])
        #expect(r.adopted.isEmpty && r.cancel.isEmpty && r.resend.isEmpty)
    }

    @Test func anOrderTheVenueAcceptedAfterTheWorkerDiedIsAdopted() {
        let r = Reconciliation(
            known: [known("A", .pending)], knownPositions: [:], venue: VenueState(orders: [venue("A", "OPEN")], positions: []), fence: 3)
        #expect(r.clean)
        #expect(r.adopted == ["A"])
    }

    @Test func aSentOrderTheVenueNeverSawIsResentNotMismatched() {
        let r = Reconciliation(known: [known("A", .pending)], knownPositions: [:], venue: VenueState(orders: [], positions: []), fence: 2)
        #expect(r.clean)
        #expect(r.resend == ["A"])
    }

    @Test func fillsWhileAwayExplainThePositionTheyMade() {
        let r = Reconciliation(
            known: [known("A", .open)], knownPositions: ["MES": 1],
            venue: VenueState(orders: [venue("A", "FILLED")], positions: [position(2)]), fence: 2)
        #expect(r.clean, "\(r.mismatched)")
        #expect(r.filled.map(\.clientOrderID) == ["A"])
    }

    @Test func aPredecessorsOpenOrderIsCancelledAndAnUnknownOneOfThisFenceIsAMismatch() {
        let r = Reconciliation(
            known: [], knownPositions: [:],
            venue: VenueState(orders: [venue("OLD", "OPEN", fence: 1), venue("ODD", "OPEN", fence: 2)], positions: []), fence: 2)
        #expect(r.cancel.map(\.clientOrderID) == ["OLD"])
        #expect(!r.clean)
        #expect(r.mismatched.count == 1)
        #expect(r.mismatched.first?.contains("ODD") == true)
    }

    @Test func anUnexplainedPositionIsAMismatchButNoRecordAdoptsIt() {
        let state = VenueState(orders: [], positions: [position(3)])
        let mismatch = Reconciliation(known: [], knownPositions: ["MES": 1], venue: state, fence: 2)
        #expect(!mismatch.clean)
        #expect(mismatch.mismatched == ["position MES: the worker expects 1, the venue holds 3"])
        let fresh = Reconciliation(known: [], knownPositions: nil, venue: state, fence: 2)
        #expect(fresh.clean)
        #expect(fresh.adopted == ["position MES 3"])
        #expect(fresh.positions == [position(3)])
    }

    @Test func anAcceptedOrderTheVenueDoesNotKnowIsAMismatch() {
        let r = Reconciliation(known: [known("A", .open)], knownPositions: [:], venue: VenueState(orders: [], positions: []), fence: 2)
        #expect(!r.clean)
    }
}

@Suite struct CapitalLedgerTests {
    @Test func theInvariantHoldsAtItsBoundaryAndBreaksJustPastIt() {
        let l = CapitalLedger(
            allocated: 10_000, orders: [(2, 1000), (1, nil)], positions: [(-3, 2000, 50)], lastPrice: 1500)
        #expect(l.reservedForOrders == 3500)
        #expect(l.reservedForPositions == 6000)
        #expect(l.available == 550)
        #expect(l.refusal(cost: 550) == nil)
        let refusal = l.refusal(cost: 550.25)
        #expect(refusal?.contains("would leave -0.25") == true, "\(refusal ?? "")")
        #expect(refusal?.contains("allocated 10000") == true)
        #expect(l.holds && l.violation == nil)
        let broken = CapitalLedger(allocated: 100, reservedForPositions: 100.25)
        #expect(!broken.holds)
        #expect(broken.violation?.hasSuffix("= -0.25 < 0") == true)
    }
}

@Suite struct VenuePositionTests {
    @Test func averagePriceMovesOnIncreasesAndPnLIsRealizedOnDecreasesAndReversals() {
        var p = VenuePosition(account: "a", market: "ES", symbol: "MES")
        p.apply(signedQuantity: 1, price: 100)
        p.apply(signedQuantity: 1, price: 110)
        #expect(p.quantity == 2 && p.averagePrice == 105)
        p.apply(signedQuantity: -1, price: 120)
        #expect(p.quantity == 1 && p.averagePrice == 105 && p.realizedPnL == 15)
        p.apply(signedQuantity: -3, price: 100)
        #expect(p.quantity == -2 && p.averagePrice == 100 && p.realizedPnL == 10)
        #expect(p.side == "SHORT")
        p.apply(signedQuantity: 2, price: 90)
        #expect(p.quantity == 0 && p.averagePrice == 0 && p.realizedPnL == 30 && p.side == "FLAT")
    }
}
