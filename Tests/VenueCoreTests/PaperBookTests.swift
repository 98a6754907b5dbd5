import Testing
import VenueCore
import Wire

@Suite struct PaperBookTests {
    let key = PaperBook.Key(account: "default", market: "ES")

    func order(_ id: String, fence: Int64 = 1, side: VenueSide = .buy, limit: Double? = nil, quantity: Int = 1) -> VenueOrder {
        VenueOrder(
            clientOrderID: id, account: "", market: "", symbol: "MES", stream: "ES1", side: side, quantity: quantity, limit: limit,
            fence: fence)
    }

    @Test func aRepeatedClientOrderIDReturnsTheOrderItHoldsNeverASecond() {
        var book = PaperBook()
        var records: [JSONValue] = []
        guard case .accepted(let first, false) = book.place(order("A"), key, nowUTC: "t1", records: &records) else {
            Issue.record("not accepted")
            return
        }
        #expect(book.place(order("A", quantity: 5), key, nowUTC: "t2", records: &records) == .accepted(first, duplicate: true))
        #expect(book.state(key, ids: []).orders.count == 1)
        #expect(first.acceptedAtUTC == "t1")
    }

    @Test func anOrderBelowTheHighestFenceSeenIsStale() {
        var book = PaperBook()
        var records: [JSONValue] = []
        _ = book.hello(key, fence: 3, records: &records)
        guard case .rejected(.staleFence, _) = book.place(order("A", fence: 2), key, nowUTC: "t", records: &records) else {
            Issue.record("a fence-2 order after a fence-3 hello was not rejected STALE_FENCE")
            return
        }
        guard case .accepted = book.place(order("B", fence: 3), key, nowUTC: "t", records: &records) else {
            Issue.record("fence 3 refused")
            return
        }
        // Another account or market has its own mark.
        guard
            case .accepted = book.place(order("C", fence: 1), PaperBook.Key(account: "other", market: "ES"), nowUTC: "t", records: &records)
        else {
            Issue.record("another account's fence 1 refused")
            return
        }
        guard case .rejected(.staleFence, _) = book.cancel("B", fence: 2, key, nowUTC: "t", records: &records) else {
            Issue.record("a stale cancel went through")
            return
        }
    }

    @Test func fillsMovePositionsAndRealizePnL() {
        var book = PaperBook()
        var records: [JSONValue] = []
        _ = book.place(order("A", quantity: 2), key, nowUTC: "t", records: &records)
        _ = book.place(order("B", side: .sell, limit: 5010, quantity: 1), key, nowUTC: "t", records: &records)
        var fills = book.tick(market: "ES", price: 5000, timeUTC: "t", records: &records)
        #expect(fills.map(\.1.clientOrderID) == ["A"])
        #expect(fills.first?.2.quantity == 2)
        #expect(book.tick(market: "NQ", price: 9999, timeUTC: "t", records: &records).isEmpty)
        fills = book.tick(market: "ES", price: 5010, timeUTC: "t", records: &records)
        #expect(
            fills.first?.2
                == VenuePosition(account: "default", market: "ES", symbol: "MES", quantity: 1, averagePrice: 5000, realizedPnL: 10))
    }

    @Test func replayingTheRecordsRebuildsTheSameBook() {
        var book = PaperBook()
        var records: [JSONValue] = []
        _ = book.hello(key, fence: 2, records: &records)
        _ = book.place(order("A", fence: 2), key, nowUTC: "t", records: &records)
        _ = book.place(order("B", fence: 2, limit: 1), key, nowUTC: "t", records: &records)
        _ = book.tick(market: "ES", price: 5000, timeUTC: "t", records: &records)
        _ = book.place(order("C", fence: 2, limit: 1), key, nowUTC: "t", records: &records)
        _ = book.cancel("C", fence: 2, key, nowUTC: "t", records: &records)
        var replayed = PaperBook()
        for r in records {
            let ok = replayed.apply(r)
            #expect(ok)
        }
        #expect(replayed.state(key, ids: ["A", "C"]) == book.state(key, ids: ["A", "C"]))
        #expect(replayed.highFence(key) == 2)
        var compacted = PaperBook()
        for r in book.records {
            let ok = compacted.apply(r)
            #expect(ok)
        }
        #expect(compacted.state(key, ids: ["A", "C"]) == book.state(key, ids: ["A", "C"]))
        let nonsense = replayed.apply(.object(["r": "nonsense"]))
        #expect(!nonsense)
    }
}
