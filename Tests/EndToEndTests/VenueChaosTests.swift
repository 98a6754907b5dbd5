import Foundation
import Platform
import Testing
import Wire

/// 1,000 orders through a worker to the paper venue while both are SIGKILLed at seeded random
/// moments and started again (issue 16): every client order ID exists at most once at the venue
/// and every one the worker journaled accepted exists there, every venue fill is journaled exactly
/// once, and the worker's position is the venue's.
@Suite(.serialized) struct VenueChaosTests {
    @Test func aThousandOrdersWithVenueAndWorkerKillsLoseAndDoubleNothing() throws {
        let home = try TestHome()
        defer { home.cleanup() }
        try home.writeConfig(
            TestHome.venueConfig(
                venue: #"{"kind": "paper", "reconcile_interval_seconds": 0.5, "start_wait_seconds": 0}"#, rate: 400))
        var venue = try home.startVenue()
        var worker = try home.startWorker()
        var random = SplitMix64(seed: 16)
        var nextKill = 60 + Int(random.next() % 80)
        var kills = (venue: 0, worker: 0)
        var client: LineClient?
        var answered = 0
        let deadline = Date().addingTimeInterval(240)
        var stream = 0
        while answered < 1000 {
            guard Date() < deadline else { throw TestFailure("only \(answered) orders answered in 240 s") }
            if answered >= nextKill {
                nextKill = answered + 60 + Int(random.next() % 80)
                if random.next() % 2 == 0 {
                    venue.signal(SIGKILL)
                    _ = try venue.waitForExit()
                    venue = try home.startVenue()
                    kills.venue += 1
                } else {
                    worker.signal(SIGKILL)
                    _ = try worker.waitForExit()
                    client = nil
                    worker = try home.startWorker()
                    kills.worker += 1
                }
            }
            do {
                if client == nil { client = try LineClient(path: home.workerSocket()) }
                stream += 1
                let side = stream % 3 == 0 ? "sell" : "buy"
                try client!.send(
                    Array(#"{"v":1,"type":"order","side":"\#(side)","quantity":1,"stream":"ES\#(stream % 2 + 1)"}"#.utf8) + [10])
                guard case .object(let o) = try JSONParser.parse(try client!.readLine(timeoutSeconds: 10)) else { continue }
                switch o["outcome"]?.stringValue {
                case "placed", "sent": answered += 1
                default: usleep(2000) // blocked (the venue reconciling) or the stream's order not filled yet
                }
            } catch {
                client = nil
                usleep(5000)
            }
        }
        #expect(kills.venue > 0 && kills.worker > 0, "kills: \(kills)")
        // Everything settles: no order left open or sent, a clean reconciliation after the last one.
        let settled = try waitFor("the worker to settle", timeout: 30, seen: { "\(home.events("ES").suffix(3).map(\.type))" }) {
            () -> Event? in
            guard (try? home.control(#"{"v":1,"type":"orders"}"#))?["orders"]?.arrayValue?.isEmpty == true else { return nil }
            guard let last = home.events("ES", type: .reconciliation).last, last.pid == worker.pid,
                last.data["clean"]?.boolValue == true,
                (home.events("ES").last(where: { $0.type.hasPrefix("ORDER_") })?.seq ?? 0) < (last.seq ?? 0)
            else { return nil }
            return last
        }
        _ = settled
        let events = home.events("ES")
        func ids(_ type: EventType) -> [String] {
            events.filter { $0.type == type.rawValue }.compactMap { $0.data["client_order_id"]?.stringValue }
        }
        let placed = ids(.orderPlaced)
        #expect(placed.count >= 1000)
        #expect(Set(placed).count == placed.count, "a client order ID placed twice")
        let probe = try VenueProbe(path: home.venueSocket, fence: 1)
        let state = try probe.state(ids: placed)
        let atVenue = Dictionary(grouping: state.orders, by: \.clientOrderID)
        #expect(atVenue.values.allSatisfy { $0.count == 1 }, "an ID twice at the venue")
        #expect(Set(atVenue.keys).isSubset(of: Set(placed)), "venue orders the worker never placed")
        let accepted = Set(ids(.orderAccepted))
        #expect(
            accepted.isSubset(of: Set(atVenue.keys)),
            "accepted but unknown to the venue: \(accepted.subtracting(atVenue.keys).sorted().prefix(5))")
        let fills = ids(.orderFilled)
        #expect(
            Set(fills).count == fills.count,
            "a fill journaled twice: \(Dictionary(grouping: fills, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted().prefix(5))")
        let filledAtVenue = Set(state.orders.filter { $0.status == "FILLED" }.map(\.clientOrderID))
        #expect(Set(fills) == filledAtVenue, "journaled fills \(fills.count), venue fills \(filledAtVenue.count)")
        // Every placed order has exactly one outcome at the venue or a NOT_SENT/REJECTED line.
        let rejected = Set(ids(.orderRejected))
        let unaccounted = Set(placed).subtracting(atVenue.keys).subtracting(rejected)
        #expect(unaccounted.isEmpty, "placed, not at the venue, not rejected: \(unaccounted.sorted().prefix(5))")
        let net = state.orders.filter { $0.status == "FILLED" }.reduce(0) { $0 + $1.side.sign * $1.quantity }
        #expect(state.positions.first?.quantity ?? 0 == net)
        let positions = try home.control(#"{"v":1,"type":"positions"}"#)
        #expect(VenuePosition(positions["positions"]?.arrayValue?.first)?.quantity ?? 0 == net, "\(positions)")
        print(
            "venue chaos: \(placed.count) placed, \(atVenue.count) at the venue, \(fills.count) fills, \(rejected.count) rejected, "
                + "kills: venue \(kills.venue), worker \(kills.worker)")
    }
}
