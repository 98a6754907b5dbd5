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

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data()) + [UInt8(ascii: "\n")]
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
