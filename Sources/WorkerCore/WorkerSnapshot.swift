import Foundation
import Wire

/// A worker's durable state besides its journal: its mode, the fail-safe latch (and who cleared it
/// last), its orders and its position per stream. Written atomically (temporary file, fsync,
/// rename, fsync of the folder) at `state/M/snapshot.json`, read at start by the startup checks.
public struct WorkerSnapshot: Sendable, Equatable, Codable {
    public var version = 1
    public var market: String
    public var runID: String
    public var fence: Int64
    public var mode: SystemMode
    public var latch: FailSafe.Latch?
    public var latchCleared: LatchClearance?
    public var orders: [SimOrder]
    public var positions: [String: Double]
    /// Positions by instrument, as the venue reported them (nil in snapshots from before the venue seam).
    public var venuePositions: [VenuePosition]?
    public var writtenAtUTC: String

    /// Who cleared a latch, and when.
    public struct LatchClearance: Sendable, Equatable, Codable {
        public var by: String
        public var atUTC: String
        public var trigger: FailSafe.Trigger
        enum CodingKeys: String, CodingKey {
            case by, trigger
            case atUTC = "at_utc"
        }
    }

    enum CodingKeys: String, CodingKey {
        case version, market, fence, mode, latch, orders, positions
        case runID = "run_id"
        case latchCleared = "latch_cleared"
        case venuePositions = "venue_positions"
        case writtenAtUTC = "written_at_utc"
    }

    public enum DecodeFailure: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSON(String)
        case invalidMode(String)
        case invalid(String)

        public var description: String {
            switch self {
            case .notJSON(let d): return "the snapshot is not valid JSON: \(d)"
            case .invalidMode(let m): return "the snapshot's mode \"\(m)\" is not a mode"
            case .invalid(let d): return "the snapshot is inconsistent: \(d)"
            }
        }
    }

    /// The snapshot's text: one compact JSON object and a newline, the keys of its `Codable` form
    /// (what `decode` reads). Written by hand, not by `JSONEncoder`: a worker writes it after every
    /// fill, cancel and mode change, and the encoder cost several times the file's own writes
    /// (docs/BENCHMARKS.md, "Order round trip through the venue").
    public func encoded() -> [UInt8] {
        var o: JSONObject = [
            "version": .int(Int64(version)), "market": .string(market), "run_id": .string(runID), "fence": .int(fence),
            "mode": .string(mode.rawValue),
        ]
        if let latch {
            o["latch"] = .object([
                "trigger": .string(latch.trigger.rawValue), "reason": .string(latch.reason),
                "latched_at_utc": .string(latch.latchedAtUTC), "run_id": .string(latch.runID),
            ])
        }
        if let latchCleared {
            o["latch_cleared"] = .object([
                "by": .string(latchCleared.by), "at_utc": .string(latchCleared.atUTC), "trigger": .string(latchCleared.trigger.rawValue),
            ])
        }
        o["orders"] = .array(orders.map(\.snapshotJSON))
        var p: JSONObject = [:]
        for key in positions.keys.sorted() { p[key] = .double(positions[key] ?? 0) }
        o["positions"] = .object(p)
        if let venuePositions { o["venue_positions"] = .array(venuePositions.map(\.codableJSON)) }
        o["written_at_utc"] = .string(writtenAtUTC)
        var out: [UInt8] = []
        out.reserveCapacity(512 + orders.count * 256)
        JSONValue.object(o).write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    public static func decode(_ bytes: [UInt8]) -> Result<WorkerSnapshot, DecodeFailure> {
        // The mode is read first on its own, so an invalid mode is named as such.
        guard case .object(let object) = try? JSONParser.parse(bytes) else {
            let detail = (try? JSONParser.parse(bytes)).map { _ in "not an object" } ?? "unparseable"
            return .failure(.notJSON(detail))
        }
        guard let mode = object["mode"]?.stringValue else { return .failure(.invalid("mode is missing")) }
        guard SystemMode(rawValue: mode) != nil else { return .failure(.invalidMode(mode)) }
        let snapshot: WorkerSnapshot
        do { snapshot = try JSONDecoder().decode(WorkerSnapshot.self, from: Data(bytes)) } catch {
            return .failure(.invalid("\(error)"))
        }
        if snapshot.fence < 1 { return .failure(.invalid("fence \(snapshot.fence) is not a holder's fence")) }
        if snapshot.mode == .aggressive, let latch = snapshot.latch {
            return .failure(.invalid("mode is AGGRESSIVE while the \(latch.trigger.rawValue) latch is set"))
        }
        let ids = snapshot.orders.map(\.clientOrderID)
        if Set(ids).count != ids.count { return .failure(.invalid("an order ID appears twice")) }
        return .success(snapshot)
    }
}

extension SimOrder {
    /// The order as the snapshot holds it: the keys of its `Codable` form, absent optionals left out.
    var snapshotJSON: JSONValue {
        var o: JSONObject = [
            "client_order_id": .string(clientOrderID), "stream": .string(stream), "symbol": .string(symbol), "side": .string(side.rawValue),
            "quantity": .int(Int64(quantity)), "status": .string(status.rawValue), "placed_at_utc": .string(placedAtUTC),
            "placed_at_monotonic": .double(placedAt),
        ]
        if let limit { o["limit"] = .double(limit) }
        if let fillPrice { o["fill_price"] = .double(fillPrice) }
        if let fence { o["fence"] = .int(fence) }
        if let acceptedAtUTC { o["accepted_at_utc"] = .string(acceptedAtUTC) }
        return .object(o)
    }
}
