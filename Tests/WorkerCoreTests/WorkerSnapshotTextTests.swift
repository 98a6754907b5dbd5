import Foundation
import Testing
import Wire

@testable import WorkerCore

/// The snapshot's hand-written text (`WorkerSnapshot.encoded`) reads back as the same snapshot and
/// carries exactly the keys of its `Codable` form, optionals present and absent.
@Suite struct WorkerSnapshotTextTests {
    static let full = WorkerSnapshot(
        market: "ES", runID: "ES-7", fence: 12, mode: .observeOnly,
        latch: FailSafe.Latch(
            trigger: .marketDataStalled, reason: "no \"data\"\n", latchedAtUTC: "2026-12-04T22:00:00.000000Z", runID: "ES-7"),
        latchCleared: .init(by: "operator", atUTC: "2026-12-04T21:00:00.000000Z", trigger: .marketDataStalled),
        orders: [
            SimOrder(
                clientOrderID: "SIM-ES-F12-000001", stream: "ES1", symbol: "MES", side: .buy, quantity: 2, limit: 4999.25, status: .open,
                placedAtUTC: "2026-12-04T22:00:01.000000Z", placedAt: 1234.567891, fillPrice: nil, fence: 12,
                acceptedAtUTC: "2026-12-04T22:00:01.000100Z"),
            SimOrder(
                clientOrderID: "SIM-ES-F11-000009", stream: "ES2", symbol: "MES", side: .sell, quantity: 1, limit: nil, status: .pending,
                placedAtUTC: "2026-12-04T21:59:59.000000Z", placedAt: 0.1, fillPrice: 5000.5, fence: nil, acceptedAtUTC: nil),
        ],
        positions: ["ES1": 2, "ES2": -1.5],
        venuePositions: [VenuePosition(account: "a", market: "ES", symbol: "MES", quantity: -3, averagePrice: 5001.75, realizedPnL: -12.5)],
        writtenAtUTC: "2026-12-04T22:00:02.000000Z")

    @Test func theTextReadsBackAsTheSameSnapshot() throws {
        let bytes = Self.full.encoded()
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(try WorkerSnapshot.decode(bytes).get() == Self.full)
        var bare = Self.full
        bare.latch = nil
        bare.latchCleared = nil
        bare.venuePositions = nil
        bare.orders = []
        bare.positions = [:]
        bare.mode = .aggressive
        #expect(try WorkerSnapshot.decode(bare.encoded()).get() == bare)
    }

    @Test func theTextHasTheKeysOfTheCodableForm() throws {
        let ours = try JSONParser.parse(Self.full.encoded())
        let theirs = try JSONParser.parse(Array(JSONEncoder().encode(Self.full)))
        #expect(Self.keyPaths(ours) == Self.keyPaths(theirs))
        #expect(!Self.keyPaths(ours).isEmpty)
    }

    /// Every key path in a document ("orders.[].fill_price"), as a set.
    static func keyPaths(_ v: JSONValue, _ prefix: String = "") -> Set<String> {
        switch v {
        case .object(let o):
            return o.members.reduce(into: Set<String>()) { s, m in
                s.insert(prefix + m.key)
                s.formUnion(keyPaths(m.value, prefix + m.key + "."))
            }
        case .array(let items): return items.reduce(into: Set<String>()) { $0.formUnion(keyPaths($1, prefix + "[].")) }
        default: return []
        }
    }
}
