/// A simulated order (docs/robot-worker.md, "SIM orders").
public struct SimOrder: Sendable, Equatable, Codable {
    public enum Side: String, Sendable, Codable {
        case buy = "BUY"
        case sell = "SELL"
    }
    public enum Status: String, Sendable, Codable {
        /// Sent to the venue, not answered yet (the execution queue).
        case pending = "PENDING"
        case open = "OPEN"
        case rejected = "REJECTED"
        case filled = "FILLED"
        case cancelled = "CANCELLED"
        case timedOut = "TIMED_OUT"
    }

    /// `SIM-ES-F7-000012`: market, fence and the run's order sequence, so an ID is unique across
    /// runs and hosts of the market and the same inputs always give the same ID.
    public var clientOrderID: String
    public var stream: String
    public var symbol: String
    public var side: Side
    public var quantity: Int
    /// nil: a market order (fills at the next tick).
    public var limit: Double?
    public var status: Status
    public var placedAtUTC: String
    /// Monotonic seconds when placed; drives the timeout (not meaningful across restarts).
    public var placedAt: Double
    public var fillPrice: Double?
    /// The fence of the holder that placed it (nil in snapshots from before the venue seam).
    public var fence: Int64?
    /// When the venue accepted it (wall clock): the order timeout counts from here, across restarts.
    public var acceptedAtUTC: String?

    enum CodingKeys: String, CodingKey {
        case stream, symbol, side, quantity, limit, status, fence
        case acceptedAtUTC = "accepted_at_utc"
        case clientOrderID = "client_order_id"
        case placedAtUTC = "placed_at_utc"
        case placedAt = "placed_at_monotonic"
        case fillPrice = "fill_price"
    }

    public static func clientOrderID(market: String, fence: Int64, sequence: Int) -> String {
        let n = String(sequence)
        return "SIM-\(market)-F\(fence)-" + String(repeating: "0", count: max(0, 6 - n.count)) + n
    }
}

/// The SIM execution gate: places, fills, times out and cancels simulated orders.
///
/// New orders only in `AGGRESSIVE`; cancels always, in every mode. One open order per stream.
/// Market orders fill at the next tick's price; a buy limit fills when a tick is at or below the
/// limit, a sell limit at or above; an order not filled within `timeoutSeconds` is cancelled.
/// Pure: ticks and times are passed in.
public struct SimExecution: Sendable {
    public let market: String
    /// Raised (never lowered) when the fence the lock folder handed out was not new (`Engine.raiseFence`).
    public var fence: Int64
    /// Client order IDs the market's history already used (its journal and snapshot, `FenceMemory`),
    /// and every ID placed since: a new ID is never one of them.
    public var usedIDs: Set<String> = []
    public var timeoutSeconds: Double
    public private(set) var sequence = 0
    /// Open orders by stream.
    public private(set) var open: [String: SimOrder] = [:]
    /// Net filled quantity by stream (buys positive).
    public private(set) var positions: [String: Double] = [:]

    public init(
        market: String, fence: Int64, timeoutSeconds: Double = 60, restoring orders: [SimOrder] = [], positions: [String: Double] = [:]
    ) {
        self.market = market
        self.fence = fence
        self.timeoutSeconds = timeoutSeconds
        self.positions = positions
        for o in orders where o.status == .open || o.status == .pending {
            open[o.stream] = o
            usedIDs.insert(o.clientOrderID)
        }
    }

    public enum PlaceOutcome: Sendable, Equatable {
        case accepted(SimOrder)
        /// Outside AGGRESSIVE: `ORDER_BLOCKED`, no alert.
        case blocked(mode: SystemMode)
        /// Refused for what it asks (a second entry on a stream, a bad quantity).
        case rejected(String)
    }

    public mutating func place(
        stream: String, symbol: String, side: SimOrder.Side, quantity: Int, limit: Double?, mode: SystemMode,
        now: Double, nowUTC: String
    ) -> PlaceOutcome {
        guard mode.mayExecute else { return .blocked(mode: mode) }
        guard quantity > 0 else { return .rejected("quantity \(quantity) must be at least 1") }
        if let limit, !(limit.isFinite && limit > 0) { return .rejected("limit \(limit) must be a positive price") }
        if let existing = open[stream] {
            return .rejected("stream \(stream) already has open order \(existing.clientOrderID); one entry per stream at a time")
        }
        var id: String
        repeat {
            sequence += 1
            id = SimOrder.clientOrderID(market: market, fence: fence, sequence: sequence)
        } while usedIDs.contains(id)
        usedIDs.insert(id)
        let order = SimOrder(
            clientOrderID: id, stream: stream, symbol: symbol,
            side: side, quantity: quantity, limit: limit, status: .pending, placedAtUTC: nowUTC, placedAt: now, fillPrice: nil,
            fence: fence)
        open[stream] = order
        return .accepted(order)
    }

    /// Whether a tick at `price` fills an order of `side` and `limit` (nil: a market order).
    public static func fills(side: SimOrder.Side, limit: Double?, at price: Double) -> Bool {
        switch (side, limit) {
        case (_, nil): return true
        case (.buy, let limit?): return price <= limit
        case (.sell, let limit?): return price >= limit
        }
    }

    /// The open (or pending) order with this ID.
    public func order(_ clientOrderID: String) -> SimOrder? { open.values.first { $0.clientOrderID == clientOrderID } }

    /// Replaces an open order with its newer state (accepted by the venue).
    public mutating func update(_ order: SimOrder) {
        guard open[order.stream]?.clientOrderID == order.clientOrderID else { return }
        open[order.stream] = order
    }

    /// Adopts an order the venue holds that this book did not (a crash before its journal line).
    public mutating func adopt(_ order: SimOrder) {
        usedIDs.insert(order.clientOrderID)
        open[order.stream] = order
    }

    /// Takes an order out of the book (filled, cancelled, rejected or timed out at the venue) and
    /// moves the stream's position by a fill.
    @discardableResult
    public mutating func remove(_ clientOrderID: String, filled: Bool = false) -> SimOrder? {
        guard let (stream, order) = open.first(where: { $0.value.clientOrderID == clientOrderID }) else { return nil }
        open[stream] = nil
        if filled { positions[stream, default: 0] += Double(order.side == .buy ? order.quantity : -order.quantity) }
        return order
    }

    /// Cancels an open order by its ID; allowed in every mode. nil when no such open order.
    public mutating func cancel(_ clientOrderID: String) -> SimOrder? {
        guard let (stream, order) = open.first(where: { $0.value.clientOrderID == clientOrderID }) else { return nil }
        open[stream] = nil
        var cancelled = order
        cancelled.status = .cancelled
        return cancelled
    }

    /// A tick of `price` for this market: fills what it crosses.
    public mutating func tick(price: Double) -> [SimOrder] {
        var filled: [SimOrder] = []
        for (stream, order) in open.sorted(by: { $0.key < $1.key }) {
            guard Self.fills(side: order.side, limit: order.limit, at: price) else { continue }
            var done = order
            done.status = .filled
            done.fillPrice = price
            open[stream] = nil
            positions[stream, default: 0] += Double(order.side == .buy ? order.quantity : -order.quantity)
            filled.append(done)
        }
        return filled
    }

    /// Cancels every order open longer than the timeout.
    public mutating func expire(now: Double) -> [SimOrder] {
        var expired: [SimOrder] = []
        for (stream, order) in open.sorted(by: { $0.key < $1.key }) where order.status == .open && now - order.placedAt >= timeoutSeconds {
            var done = order
            done.status = .timedOut
            open[stream] = nil
            expired.append(done)
        }
        return expired
    }
}
