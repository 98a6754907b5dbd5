import Foundation

/// The first line of every connection to the watchdog (docs/PROTOCOL.md).
///
/// A worker: `{"v":1,"type":"hello","role":"worker","market":"ES","run_id":"…","pid":4242,"fence":7,"resume_runs":["…"]}`.
/// `resume_runs` names earlier runs of the market whose journaled events the worker may re-send;
/// the watchdog answers the last seq it applied for each, and for the hello's own run.
/// An operator: `{"v":1,"type":"hello","role":"operator"}`.
public struct Hello: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case worker, `operator` }
    public var v: Int64 = WireFormat.version
    public var type = "hello"
    public var role: Role
    public var market: String?
    public var runID: String?
    public var pid: Int32?
    public var fence: Int64?
    public var resumeRuns: [String]?
    /// Asks the watchdog for `applied` notices on this connection (see `Applied`).
    public var appliedNotices: Bool?

    public init(
        role: Role, market: String? = nil, runID: String? = nil, pid: Int32? = nil, fence: Int64? = nil, resumeRuns: [String]? = nil,
        appliedNotices: Bool? = nil
    ) {
        self.role = role
        self.market = market
        self.runID = runID
        self.pid = pid
        self.fence = fence
        self.resumeRuns = resumeRuns
        self.appliedNotices = appliedNotices
    }

    enum CodingKeys: String, CodingKey {
        case v, type, role, market, pid, fence
        case runID = "run_id"
        case resumeRuns = "resume_runs"
        case appliedNotices = "applied_notices"
    }
}

/// The watchdog's answer to a hello: for each run asked about, the last seq it has applied
/// durably (0: none). The worker re-sends what follows. `fence_high_water`: the highest fence the
/// watchdog has seen for the market (0: none); a worker whose fence is not above it raises its fence
/// before it trades (docs/robot-worker.md, "Fence memory").
/// `{"v":1,"type":"welcome","applied":{"ES-20261121T071500Z-4f3a9c1b":42},"fence_high_water":7}`
public struct Welcome: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "welcome"
    public var applied: [String: Int64]
    public var fenceHighWater: Int64?

    public init(applied: [String: Int64], fenceHighWater: Int64? = nil) {
        self.applied = applied
        self.fenceHighWater = fenceHighWater
    }

    enum CodingKeys: String, CodingKey {
        case v, type, applied
        case fenceHighWater = "fence_high_water"
    }
}

/// Cumulative acknowledgement: every event of `run_id` up to `seq` is applied and durable.
/// `{"v":1,"type":"ack","run_id":"ES-20261121T071500Z-4f3a9c1b","seq":43}`
public struct Ack: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "ack"
    public var runID: String
    public var seq: Int64

    public init(runID: String, seq: Int64) {
        self.runID = runID
        self.seq = seq
    }

    enum CodingKeys: String, CodingKey {
        case v, type, seq
        case runID = "run_id"
    }
}

/// Cumulative, volatile: every event of `run_id` up to `seq` is applied to the watchdog's live
/// state (status and alerts show it) but is not yet durable, so nothing may be dropped for it;
/// that waits for `Ack`. Sent only to a worker connection whose hello asked for them
/// (`"applied_notices":true`), once per run after each read that applied events of it: for
/// probes that measure the watchdog's write-to-applied latency.
/// `{"v":1,"type":"applied","run_id":"ES-20261121T071500Z-4f3a9c1b","seq":43}`
public struct Applied: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "applied"
    public var runID: String
    public var seq: Int64

    public init(runID: String, seq: Int64) {
        self.runID = runID
        self.seq = seq
    }

    enum CodingKeys: String, CodingKey {
        case v, type, seq
        case runID = "run_id"
    }
}

extension Ack {
    /// `WireCoding.line(self)`, byte for byte, built directly.
    public var line: [UInt8] { WireCoding.runSeqLine(type: type, runID: runID, seq: seq, v: v) }
}

extension Applied {
    /// `WireCoding.line(self)`, byte for byte, built directly.
    public var line: [UInt8] { WireCoding.runSeqLine(type: type, runID: runID, seq: seq, v: v) }
}

/// From the watchdog to a worker's live connection, when an operator's `watchdog ack MARKET`
/// acknowledges a market whose fail-safe or startup-check latch is set: the worker clears the
/// latch, records `by` and journals `FAILSAFE_CLEARED`.
/// `{"v":1,"type":"clear_latch","by":"uid 0 (pid 4711) through watchdog ack"}`
public struct ClearLatch: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "clear_latch"
    public var by: String

    public init(by: String) { self.by = by }
}

/// Sent before the watchdog closes a connection it refuses.
/// `{"v":1,"type":"error","reason":"peer_mismatch","detail":"hello pid 12 is not the peer's pid 4242"}`
/// A `fence_regression` refusal carries `fence_high_water`, the highest fence the watchdog has
/// seen for the market: the worker raises its fence above it and says hello again.
public struct WireError: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "error"
    public var reason: RejectionReason
    public var detail: String
    public var fenceHighWater: Int64?

    public init(reason: RejectionReason, detail: String, fenceHighWater: Int64? = nil) {
        self.reason = reason
        self.detail = detail
        self.fenceHighWater = fenceHighWater
    }

    enum CodingKeys: String, CodingKey {
        case v, type, reason, detail
        case fenceHighWater = "fence_high_water"
    }
}

/// Codable messages as lines.
public enum WireCoding {
    /// The compact JSON of `value` and a newline.
    public static func line<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = Array((try? encoder.encode(value)) ?? Data("{}".utf8))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// `{"run_id":…,"seq":…,"type":…,"v":…}` and a newline: `line(_:)` of an `Ack` or an `Applied`,
    /// byte for byte, without a `JSONEncoder` (those go out at event rates).
    static func runSeqLine(type: String, runID: String, seq: Int64, v: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + runID.utf8.count)
        out.append(contentsOf: #"{"run_id":"#.utf8)
        JSONValue.writeString(runID, into: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        out.append(contentsOf: String(seq).utf8)
        out.append(contentsOf: #","type":"#.utf8)
        JSONValue.writeString(type, into: &out)
        out.append(contentsOf: #","v":"#.utf8)
        out.append(contentsOf: String(v).utf8)
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// Decodes one line (newline excluded) as `T`.
    ///
    /// The line must first pass the strict parser (a `LineError` otherwise): `JSONDecoder` alone
    /// accepts duplicate keys (keeping the first, so `{"role":"worker","role":"operator"}` is a
    /// worker), trailing commas and nesting of any depth, which no line on the wire may carry.
    public static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        _ = try JSONParser.parse(line)
        return try JSONDecoder().decode(T.self, from: Data(line))
    }
}
