import Foundation
import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Encodes the snapshot document (`SnapshotFile.Document`: the same keys and values, read back by
/// `SnapshotFile.load`) without encoding again what has not changed since the last snapshot.
///
/// At rest almost every change is a heartbeat, and a heartbeat changes four fields of its market
/// (`heartbeat_state`, `last_heartbeat_utc`, `heartbeat_age_seconds`, `counters`); a steady stream
/// of events changes `counters` and `runs`. The rest of each market (its settled fields: alerts,
/// lock, latch, identity, orders, ...) is encoded by `JSONEncoder` once and kept, with the market's
/// settled view, until that view changes; the five fields and the document around the markets
/// are written here by hand. With 200 markets a snapshot that followed
/// one acked event used to encode all 200 markets through `JSONEncoder` (45 % of the idle
/// watchdog's CPU); it now encodes the one that changed (docs/BENCHMARKS.md, "The watchdog at rest").
///
/// Used on the loop's thread only (`SnapshotCommitter`); `SnapshotFile.encode` stays the reference
/// encoding (and the final snapshot's), and the tests hold the two to the same decoded state.
struct SnapshotEncoder {
    private struct Settled {
        var market: WatchedMarket
        /// The settled fields' JSON object without its closing brace: `{"alerts":[],...`.
        var open: [UInt8]
    }

    private var settled: [String: Settled] = [:]
    private var history: (alerts: [Alert], bytes: [UInt8])?
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()
    private var lastSize = 0
    /// How many markets the last `encode` had to encode through `JSONEncoder` (the others were
    /// unchanged but for the five fields written by hand).
    private(set) var marketsEncoded = 0

    /// The document for `state`, saved at `savedAtUTC`; a value `JSONEncoder` refuses is a failed
    /// save, as with `SnapshotFile.encode`.
    mutating func encode(_ state: WatchdogState, savedAtUTC: String) throws(SystemError) -> [UInt8] {
        do {
            return try document(state, savedAtUTC: savedAtUTC)
        } catch {
            throw SystemError("encode the snapshot (\(error))", code: EINVAL)
        }
    }

    private mutating func document(_ state: WatchdogState, savedAtUTC: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lastSize + 256)
        marketsEncoded = 0
        out.append(contentsOf: #"{"saved_at_utc":"#.utf8)
        JSONValue.writeString(savedAtUTC, into: &out)
        out.append(contentsOf: #","state":{"alert_history":"#.utf8)
        if let history, history.alerts == state.alertHistory {
            out.append(contentsOf: history.bytes)
        } else {
            let bytes = Array(try encoder.encode(state.alertHistory))
            history = (state.alertHistory, bytes)
            out.append(contentsOf: bytes)
        }
        out.append(contentsOf: #","markets":{"#.utf8)
        for (i, name) in state.markets.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
            try write(state.markets[name]!, named: name, into: &out)
        }
        if settled.count > state.markets.count { settled = settled.filter { state.markets[$0.key] != nil } }
        out.append(contentsOf: #"},"next_alert_number":"#.utf8)
        Self.write(state.nextAlertNumber, into: &out)
        out.append(contentsOf: #","rejected":"#.utf8)
        Self.write(state.rejected, into: &out)
        out.append(contentsOf: #"},"v":1}"#.utf8)
        lastSize = out.count
        return out
    }

    private mutating func write(_ m: WatchedMarket, named name: String, into out: inout [UInt8]) throws {
        let view = m.settled
        if let kept = settled[name], kept.market == view {
            out.append(contentsOf: kept.open)
        } else {
            var bytes = Array(try encoder.encode(SettledFields(market: view)))
            bytes.removeLast() // the closing brace
            settled[name] = Settled(market: view, open: bytes)
            marketsEncoded += 1
            out.append(contentsOf: bytes)
        }
        // `encodeSettled` writes `canonical_instrument` always: the object is never empty here.
        out.append(contentsOf: #","counters":{"duplicates":"#.utf8)
        let c = m.counters
        Self.write(c.duplicates, into: &out)
        out.append(contentsOf: #","events":"#.utf8)
        Self.write(c.events, into: &out)
        out.append(contentsOf: #","gaps":"#.utf8)
        Self.write(c.gaps, into: &out)
        out.append(contentsOf: #","heartbeats":"#.utf8)
        Self.write(c.heartbeats, into: &out)
        out.append(contentsOf: #","refusals":"#.utf8)
        Self.write(c.refusals, into: &out)
        out.append(contentsOf: #","rejected":"#.utf8)
        Self.write(c.rejected, into: &out)
        out.append(contentsOf: #","stale_fence":"#.utf8)
        Self.write(c.staleFence, into: &out)
        out.append(contentsOf: #"},"heartbeat_age_seconds":"#.utf8)
        // A finite, non-negative Double (an age from the monotonic clock); Swift's shortest
        // round-trip text ("0.3", "1e-05") is a JSON number.
        out.append(contentsOf: (m.heartbeatAgeSeconds.isFinite ? "\(m.heartbeatAgeSeconds)" : "0").utf8)
        out.append(contentsOf: #","heartbeat_state":"#.utf8)
        JSONValue.writeString(m.heartbeatState.rawValue, into: &out)
        out.append(contentsOf: #","last_heartbeat_utc":"#.utf8)
        if let ts = m.lastHeartbeatUTC { JSONValue.writeString(ts, into: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","runs":["#.utf8)
        for (i, run) in m.runs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"applied_seq":"#.utf8)
            Self.write(run.appliedSeq, into: &out)
            out.append(contentsOf: #","fence":"#.utf8)
            Self.write(run.fence, into: &out)
            out.append(contentsOf: #","pid":"#.utf8)
            Self.write(Int64(run.pid), into: &out)
            out.append(contentsOf: #","run_id":"#.utf8)
            JSONValue.writeString(run.runID, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
    }

    /// Appends `value` in decimal without making a `String` (a snapshot of 1,000 markets writes
    /// about ten integers per market).
    static func write(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            while count > 0 {
                count -= 1
                out.append(d[count])
            }
        }
    }

    private static func write(_ counts: [String: Int64], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, key) in counts.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            Self.write(counts[key]!, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A market's settled fields as one JSON object.
    private struct SettledFields: Encodable {
        var market: WatchedMarket
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: WatchedMarket.CodingKeys.self)
            try market.encodeSettled(into: &c)
        }
    }
}
