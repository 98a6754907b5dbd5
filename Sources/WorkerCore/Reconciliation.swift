import Wire

/// The comparison of what a worker remembers (its snapshot, or its running book) with what its
/// venue holds for the account and market (docs/robot-worker.md, "Reconciliation"). Pure: both
/// sides in, a verdict out; the `OrderDesk` acts on it and journals `RECONCILIATION`.
///
/// Orders the worker knows (sent or open):
/// - open at the venue: `matched` (already accepted) or `adopted` (the worker crashed between the
///   venue's acceptance and its own journal line, or the answer was lost);
/// - filled or cancelled at the venue while the worker was away: `filled` / `closed` (explained);
/// - unknown to the venue: sent but never answered: `resend` (the client order ID makes it safe);
///   accepted before: `mismatched`.
/// Open venue orders the worker does not know: from a lower fence (a predecessor's): `cancel`;
/// from its own fence or above: `mismatched`.
/// Positions: with no remembered positions (a fresh state folder, a takeover on another host) the
/// venue's are `adopted`; else each instrument's remembered quantity plus the explained fills must
/// equal the venue's (`matched`), or it is `mismatched`.
public struct Reconciliation: Sendable, Equatable {
    public var matched: [String] = []
    public var adopted: [String] = []
    public var cancel: [VenueOrder] = []
    public var filled: [VenueOrder] = []
    public var closed: [VenueOrder] = []
    public var resend: [String] = []
    public var mismatched: [String] = []
    /// The venue's positions, to be taken as the worker's.
    public var positions: [VenuePosition] = []

    /// Clean: nothing the worker cannot explain.
    public var clean: Bool { mismatched.isEmpty }

    /// `known`: the worker's orders still open or sent; `knownPositions`: instrument -> quantity,
    /// nil when the worker has no record of its positions; `fence`: the worker's fence.
    public init(known: [SimOrder], knownPositions: [String: Int]?, venue: VenueState, fence: Int64) {
        let byID = Dictionary(venue.orders.map { ($0.clientOrderID, $0) }, uniquingKeysWith: { a, _ in a })
        let knownIDs = Set(known.map(\.clientOrderID))
        var expected = knownPositions ?? [:]
        for o in known.sorted(by: { $0.clientOrderID < $1.clientOrderID }) {
            guard let v = byID[o.clientOrderID] else {
                if o.status == .pending {
                    resend.append(o.clientOrderID)
                } else {
                    mismatched.append("order \(o.clientOrderID) was accepted but the venue does not know it")
                }
                continue
            }
            switch v.status {
            case "OPEN": if o.status == .pending { adopted.append(v.clientOrderID) } else { matched.append(v.clientOrderID) }
            case "FILLED":
                filled.append(v)
                expected[v.symbol, default: 0] += v.side.sign * v.quantity
            default: closed.append(v)
            }
        }
        for v in venue.orders.sorted(by: { $0.clientOrderID < $1.clientOrderID }) where v.isOpen && !knownIDs.contains(v.clientOrderID) {
            if v.fence < fence {
                cancel.append(v)
            } else {
                mismatched.append("open order \(v.clientOrderID) of fence \(v.fence) was not placed by this worker (fence \(fence))")
            }
        }
        positions = venue.positions
        let venueQuantity = Dictionary(venue.positions.map { ($0.symbol, $0.quantity) }, uniquingKeysWith: { a, _ in a })
        if knownPositions == nil {
            adopted += venue.positions.filter { $0.quantity != 0 }.map { "position \($0.symbol) \($0.quantity)" }
            return
        }
        for symbol in Set(expected.keys).union(venueQuantity.keys).sorted() {
            let want = expected[symbol] ?? 0
            let have = venueQuantity[symbol] ?? 0
            if want == have {
                if have != 0 { matched.append("position \(symbol) \(have)") }
            } else {
                mismatched.append("position \(symbol): the worker expects \(want), the venue holds \(have)")
            }
        }
    }

    /// The `RECONCILIATION` event's data.
    public func data(reason: String, venue: String) -> JSONObject {
        [
            "reason": .string(reason), "venue": .string(venue), "clean": .bool(clean), "matched": .strings(matched),
            "adopted": .strings(adopted), "cancelled": .strings(cancel.map(\.clientOrderID)),
            "filled": .strings(filled.map(\.clientOrderID)), "closed": .strings(closed.map(\.clientOrderID)), "resent": .strings(resend),
            "mismatched": .strings(mismatched),
        ]
    }
}
