/// The execution-venue protocol (docs/PROTOCOL.md, "The venue socket"): NDJSON lines between a
/// worker and `paper-venue`, version `VenueProtocol.version`. Both sides build and read them with
/// `JSONValue` (no Foundation coder on the order path).
///
/// ```
///  worker ── hello{account, market, fence, run_id} ──▶ venue ── welcome{fence_high_water} ──▶
///         ── place{order}  ──▶  accepted{order, duplicate} | rejected{client_order_id, reason}
///         ── cancel{client_order_id, fence} ──▶ cancelled{order} | rejected{...}
///         ── state{id, ids} ──▶ state{id, orders, positions}
///                              ◀── fill{order, position} (unsolicited, after the fill is durable)
/// ```
public enum VenueProtocol {
    public static let version: Int64 = 1
    /// A request line longer than this is refused (`line_too_long`) and the connection keeps serving.
    public static let maxLineBytes = 256 * 1024
}

/// BUY or SELL.
public enum VenueSide: String, Sendable, Codable, Equatable {
    case buy = "BUY"
    case sell = "SELL"
    /// +1 for a buy, -1 for a sell.
    public var sign: Int { self == .buy ? 1 : -1 }
}

/// Why a venue refused a request (`rejected.reason`, `error.reason`).
public enum VenueRejection: String, Sendable, Equatable, CaseIterable {
    /// The order's (or cancel's) fence is below the highest fence the venue has seen for the account and market.
    case staleFence = "STALE_FENCE"
    case notFound = "NOT_FOUND"
    case notOpen = "NOT_OPEN"
    /// A field is missing or out of range.
    case invalid = "INVALID"
    case badRequest = "bad_request"
    case lineTooLong = "line_too_long"
    case notPermitted = "not_permitted"
    case unsupportedVersion = "unsupported_version"
    case helloFirst = "hello_first"
}

/// An order as the venue keeps it. `status`: `OPEN`, `FILLED`, `CANCELLED`.
public struct VenueOrder: Sendable, Equatable {
    public var clientOrderID: String
    public var account: String
    public var market: String
    public var symbol: String
    public var stream: String
    public var side: VenueSide
    public var quantity: Int
    /// nil: a market order.
    public var limit: Double?
    public var fence: Int64
    public var status: String
    public var acceptedAtUTC: String
    public var fillPrice: Double?
    public var doneAtUTC: String?

    public init(
        clientOrderID: String, account: String, market: String, symbol: String, stream: String, side: VenueSide, quantity: Int,
        limit: Double?, fence: Int64, status: String = "OPEN", acceptedAtUTC: String = "", fillPrice: Double? = nil,
        doneAtUTC: String? = nil
    ) {
        self.clientOrderID = clientOrderID
        self.account = account
        self.market = market
        self.symbol = symbol
        self.stream = stream
        self.side = side
        self.quantity = quantity
        self.limit = limit
        self.fence = fence
        self.status = status
        self.acceptedAtUTC = acceptedAtUTC
        self.fillPrice = fillPrice
        self.doneAtUTC = doneAtUTC
    }

    public var isOpen: Bool { status == "OPEN" }

    public var json: JSONValue {
        .object([
            "client_order_id": .string(clientOrderID), "account": .string(account), "market": .string(market), "symbol": .string(symbol),
            "stream": .string(stream), "side": .string(side.rawValue), "quantity": .int(Int64(quantity)),
            "limit": limit.map { .double($0) } ?? .null, "fence": .int(fence), "status": .string(status),
            "accepted_at_utc": .string(acceptedAtUTC), "fill_price": fillPrice.map { .double($0) } ?? .null,
            "done_at_utc": .optional(doneAtUTC),
        ])
    }

    /// Reads an order; nil names nothing: `VenueOrder.problem(in:)` says what is wrong.
    public init?(_ value: JSONValue?) {
        guard let o = value?.objectValue, Self.problem(in: o) == nil else { return nil }
        self.init(
            clientOrderID: o["client_order_id"]!.stringValue!, account: o["account"]?.stringValue ?? "",
            market: o["market"]?.stringValue ?? "", symbol: o["symbol"]!.stringValue!, stream: o["stream"]?.stringValue ?? "",
            side: VenueSide(rawValue: o["side"]!.stringValue!.uppercased())!, quantity: Int(o["quantity"]!.intValue!),
            limit: o["limit"]?.doubleValue, fence: o["fence"]!.intValue!, status: o["status"]?.stringValue ?? "OPEN",
            acceptedAtUTC: o["accepted_at_utc"]?.stringValue ?? "", fillPrice: o["fill_price"]?.doubleValue,
            doneAtUTC: o["done_at_utc"]?.stringValue)
    }

    /// What makes `o` not an order a venue accepts, or nil.
    public static func problem(in o: JSONObject) -> String? {
        guard let id = o["client_order_id"]?.stringValue, (1...64).contains(id.utf8.count) else {
            return "client_order_id: expected 1 to 64 characters"
        }
        guard let symbol = o["symbol"]?.stringValue, Identifier.isValidMarket(symbol) else { return "symbol: expected an instrument" }
        guard let side = o["side"]?.stringValue, VenueSide(rawValue: side.uppercased()) != nil else { return "side: expected BUY or SELL" }
        guard let q = o["quantity"]?.intValue, (1...1_000_000).contains(q) else { return "quantity: expected 1 to 1000000" }
        if let l = o["limit"], l != .null {
            guard let p = l.doubleValue, p.isFinite, p > 0 else { return "limit: expected a positive price or null" }
        }
        guard let f = o["fence"]?.intValue, f >= 1 else { return "fence: expected an integer of at least 1" }
        return nil
    }
}

/// A position as the venue keeps it, per account, market and instrument. `quantity` is signed
/// (long positive); `averagePrice` is the average entry price of the open quantity.
public struct VenuePosition: Sendable, Equatable, Codable {
    public var account: String
    public var market: String
    public var symbol: String
    public var quantity: Int
    public var averagePrice: Double
    public var realizedPnL: Double

    public init(account: String, market: String, symbol: String, quantity: Int = 0, averagePrice: Double = 0, realizedPnL: Double = 0) {
        self.account = account
        self.market = market
        self.symbol = symbol
        self.quantity = quantity
        self.averagePrice = averagePrice
        self.realizedPnL = realizedPnL
    }

    enum CodingKeys: String, CodingKey {
        case account, market, symbol, quantity
        case averagePrice = "average_price"
        case realizedPnL = "realized_pnl"
    }

    public var side: String { quantity > 0 ? "LONG" : quantity < 0 ? "SHORT" : "FLAT" }

    /// Applies a fill of `quantity` (signed) at `price`: the average entry price moves on an
    /// increase, a decrease realizes P&L against it, a reversal does both.
    public mutating func apply(signedQuantity q: Int, price: Double) {
        if quantity == 0 || (quantity > 0) == (q > 0) {
            let total = quantity + q
            averagePrice = (averagePrice * Double(abs(quantity)) + price * Double(abs(q))) / Double(abs(total))
            quantity = total
            return
        }
        let closing = min(abs(q), abs(quantity))
        realizedPnL += Double(closing) * (price - averagePrice) * Double(quantity > 0 ? 1 : -1)
        let rest = quantity + q
        if rest == 0 {
            quantity = 0
            averagePrice = 0
        } else if (rest > 0) == (quantity > 0) {
            quantity = rest
        } else {
            quantity = rest
            averagePrice = price
        }
    }

    public var json: JSONValue {
        .object([
            "account": .string(account), "market": .string(market), "symbol": .string(symbol), "side": .string(side),
            "quantity": .int(Int64(quantity)), "average_price": .double(averagePrice), "realized_pnl": .double(realizedPnL),
        ])
    }

    public init?(_ value: JSONValue?) {
        guard let o = value?.objectValue, let symbol = o["symbol"]?.stringValue, let q = o["quantity"]?.intValue else { return nil }
        self.init(
            account: o["account"]?.stringValue ?? "", market: o["market"]?.stringValue ?? "", symbol: symbol, quantity: Int(q),
            averagePrice: o["average_price"]?.doubleValue ?? 0, realizedPnL: o["realized_pnl"]?.doubleValue ?? 0)
    }
}

/// A venue's view of one account and market.
public struct VenueState: Sendable, Equatable {
    public var orders: [VenueOrder]
    public var positions: [VenuePosition]
    public init(orders: [VenueOrder], positions: [VenuePosition]) {
        self.orders = orders
        self.positions = positions
    }
}

extension JSONValue {
    /// The compact JSON of this value and a newline (one NDJSON line).
    public var ndjsonLine: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
