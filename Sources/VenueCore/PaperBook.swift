import Wire

/// The paper venue's state, per account and market (docs/paper-venue.md): orders by client order
/// ID (every one it ever accepted, so a repeated ID is answered with the order it holds), the
/// highest fence seen, and positions by instrument. Pure: requests, ticks and times in, outcomes
/// and the records to journal out; `apply` replays a journal's records.
public struct PaperBook: Sendable {
    public struct Key: Hashable, Sendable {
        public var account: String
        public var market: String
        public init(account: String, market: String) {
            self.account = account
            self.market = market
        }
    }

    struct Market: Sendable {
        var highFence: Int64 = 0
        var orders: [String: VenueOrder] = [:]
        /// Open orders' IDs in the order they were accepted (fills go in that order).
        var open: [String] = []
        var positions: [String: VenuePosition] = [:]
    }

    public enum Outcome: Sendable, Equatable {
        case accepted(VenueOrder, duplicate: Bool)
        case cancelled(VenueOrder)
        case rejected(VenueRejection, String)
    }

    private(set) var markets: [Key: Market] = [:]

    public init() {}

    /// The highest fence seen for the account and market.
    public func highFence(_ key: Key) -> Int64 { markets[key]?.highFence ?? 0 }

    /// Orders held, over every account and market.
    public var orderCount: Int { markets.values.reduce(0) { $0 + $1.orders.count } }

    // MARK: requests

    /// A holder says hello with its fence: raises the high-water mark (a record) when it is higher.
    public mutating func hello(_ key: Key, fence: Int64, records: inout [JSONValue]) -> Int64 {
        var m = markets[key] ?? Market()
        if fence > m.highFence {
            m.highFence = fence
            records.append(Self.fenceRecord(key, fence))
        }
        markets[key] = m
        return m.highFence
    }

    public mutating func place(_ order: VenueOrder, _ key: Key, nowUTC: String, records: inout [JSONValue]) -> Outcome {
        // Taken out of the dictionary while it changes, so its orders are changed in place, not
        // copied whole (copy on write) for every order; every way out puts it back.
        var m = markets.removeValue(forKey: key) ?? Market()
        defer { markets[key] = m }
        if let existing = m.orders[order.clientOrderID] { return .accepted(existing, duplicate: true) }
        guard order.fence >= m.highFence else {
            return .rejected(
                .staleFence,
                "fence \(order.fence) is below the highest fence \(m.highFence) seen for account \(key.account) and market \(key.market)")
        }
        if order.fence > m.highFence {
            m.highFence = order.fence
            records.append(Self.fenceRecord(key, order.fence))
        }
        var o = order
        o.account = key.account
        o.market = key.market
        o.status = "OPEN"
        o.acceptedAtUTC = nowUTC
        o.fillPrice = nil
        o.doneAtUTC = nil
        m.orders[o.clientOrderID] = o
        m.open.append(o.clientOrderID)
        records.append(.object(["r": "order", "order": o.json]))
        return .accepted(o, duplicate: false)
    }

    public mutating func cancel(_ id: String, fence: Int64, _ key: Key, nowUTC: String, records: inout [JSONValue]) -> Outcome {
        guard markets[key]?.orders[id] != nil, var m = markets.removeValue(forKey: key), var o = m.orders[id] else {
            return .rejected(.notFound, "no order \(id) for account \(key.account)")
        }
        defer { markets[key] = m }
        guard fence >= m.highFence else {
            return .rejected(
                .staleFence,
                "fence \(fence) is below the highest fence \(m.highFence) seen for account \(key.account) and market \(key.market)")
        }
        guard o.isOpen else { return .rejected(.notOpen, "order \(id) is \(o.status)") }
        o.status = "CANCELLED"
        o.doneAtUTC = nowUTC
        m.orders[id] = o
        m.open.removeAll { $0 == id }
        records.append(.object(["r": "order", "order": o.json]))
        return .cancelled(o)
    }

    /// A tick for `market`: fills every open order of every account it crosses (a market order at
    /// once, a buy limit at or below, a sell limit at or above), at the tick's price.
    public mutating func tick(market: String, price: Double, timeUTC: String, records: inout [JSONValue]) -> [(
        Key, VenueOrder, VenuePosition
    )] {
        var fills: [(Key, VenueOrder, VenuePosition)] = []
        // The keys first: iterating the dictionary itself would keep its storage shared while it changes.
        for key in markets.keys.filter({ $0.market == market }) {
            guard markets[key]?.open.isEmpty == false, var m = markets.removeValue(forKey: key) else { continue }
            var still: [String] = []
            for id in m.open {
                guard var o = m.orders[id] else { continue }
                let crosses: Bool
                switch (o.side, o.limit) {
                case (_, nil): crosses = true
                case (.buy, let l?): crosses = price <= l
                case (.sell, let l?): crosses = price >= l
                }
                guard crosses else {
                    still.append(id)
                    continue
                }
                o.status = "FILLED"
                o.fillPrice = price
                o.doneAtUTC = timeUTC
                m.orders[id] = o
                var p = m.positions[o.symbol] ?? VenuePosition(account: key.account, market: key.market, symbol: o.symbol)
                p.apply(signedQuantity: o.side.sign * o.quantity, price: price)
                m.positions[o.symbol] = p
                records.append(.object(["r": "order", "order": o.json]))
                records.append(.object(["r": "position", "position": p.json]))
                fills.append((key, o, p))
            }
            m.open = still
            markets[key] = m
        }
        return fills
    }

    /// Open orders, the orders `ids` names whatever their status, and positions.
    public func state(_ key: Key, ids: [String]) -> VenueState {
        guard let m = markets[key] else { return VenueState(orders: [], positions: []) }
        var seen = Set<String>()
        var orders: [VenueOrder] = []
        for id in m.open + ids where !seen.contains(id) {
            seen.insert(id)
            if let o = m.orders[id] { orders.append(o) }
        }
        return VenueState(orders: orders, positions: m.positions.values.sorted { $0.symbol < $1.symbol })
    }

    // MARK: journal records

    /// Replays one journal record; false when it is not one.
    public mutating func apply(_ record: JSONValue) -> Bool {
        guard let r = record.objectValue else { return false }
        switch r["r"]?.stringValue {
        case "fence":
            guard let a = r["account"]?.stringValue, let mk = r["market"]?.stringValue, let f = r["fence"]?.intValue else { return false }
            let key = Key(account: a, market: mk)
            var m = markets.removeValue(forKey: key) ?? Market()
            m.highFence = max(m.highFence, f)
            markets[key] = m
        case "order":
            guard let o = VenueOrder(r["order"]) else { return false }
            let key = Key(account: o.account, market: o.market)
            var m = markets.removeValue(forKey: key) ?? Market()
            m.orders[o.clientOrderID] = o
            m.open.removeAll { $0 == o.clientOrderID }
            if o.isOpen { m.open.append(o.clientOrderID) }
            m.highFence = max(m.highFence, o.fence)
            markets[key] = m
        case "position":
            guard let p = VenuePosition(r["position"]) else { return false }
            let key = Key(account: p.account, market: p.market)
            var m = markets.removeValue(forKey: key) ?? Market()
            m.positions[p.symbol] = p
            markets[key] = m
        default:
            return false
        }
        return true
    }

    /// Every record that rebuilds this book (the journal compacted at start).
    public var records: [JSONValue] {
        var out: [JSONValue] = []
        for (key, m) in markets.sorted(by: { ($0.key.account, $0.key.market) < ($1.key.account, $1.key.market) }) {
            out.append(Self.fenceRecord(key, m.highFence))
            let ordered =
                m.orders.values.filter { !$0.isOpen }.sorted { $0.clientOrderID < $1.clientOrderID } + m.open.compactMap { m.orders[$0] }
            for o in ordered { out.append(.object(["r": "order", "order": o.json])) }
            for p in m.positions.values.sorted(by: { $0.symbol < $1.symbol }) {
                out.append(.object(["r": "position", "position": p.json]))
            }
        }
        return out
    }

    static func fenceRecord(_ key: Key, _ fence: Int64) -> JSONValue {
        .object(["r": "fence", "account": .string(key.account), "market": .string(key.market), "fence": .int(fence)])
    }
}
