/// The account's capital ledger for one market's worker (docs/robot-worker.md, "Capital ledger"):
///
///     available = allocated - reserved_for_orders - reserved_for_positions + realized_pnl >= 0
///
/// `reserved_for_orders` is every open (or sent) order's quantity x its limit, or x the last price
/// for a market order; `reserved_for_positions` is every position's |quantity| x average price;
/// `realized_pnl` is the positions' realized P&L. Amounts are price units x quantity (no contract
/// multiplier). Checked before every order (`admits`) and after every fill (`violation`). Pure.
public struct CapitalLedger: Sendable, Equatable {
    public var allocated: Double
    public var reservedForOrders: Double
    public var reservedForPositions: Double
    public var realizedPnL: Double

    public init(allocated: Double, reservedForOrders: Double = 0, reservedForPositions: Double = 0, realizedPnL: Double = 0) {
        self.allocated = allocated
        self.reservedForOrders = reservedForOrders
        self.reservedForPositions = reservedForPositions
        self.realizedPnL = realizedPnL
    }

    /// The ledger of `orders` (quantity, limit) and `positions` (quantity, average price, realized).
    public init(
        allocated: Double, orders: [(quantity: Int, limit: Double?)], positions: [(quantity: Int, averagePrice: Double, realized: Double)],
        lastPrice: Double
    ) {
        self.init(allocated: allocated)
        for o in orders { reservedForOrders += Double(o.quantity) * (o.limit ?? lastPrice) }
        for p in positions {
            reservedForPositions += Double(abs(p.quantity)) * p.averagePrice
            realizedPnL += p.realized
        }
    }

    public var available: Double { allocated - reservedForOrders - reservedForPositions + realizedPnL }

    /// Whether the invariant holds.
    public var holds: Bool { available >= 0 }

    /// nil when an order reserving `cost` keeps the invariant; else why not, with the figures.
    public func refusal(cost: Double) -> String? {
        let after = available - cost
        guard after < 0 else { return nil }
        return "capital: the order reserves \(Self.text(cost)) and would leave \(Self.text(after)) "
            + "(allocated \(Self.text(allocated)) - reserved for orders \(Self.text(reservedForOrders)) - reserved for positions "
            + "\(Self.text(reservedForPositions)) + realized P&L \(Self.text(realizedPnL)) = \(Self.text(available)))"
    }

    /// nil while the invariant holds; else the break, with the figures.
    public var violation: String? {
        guard !holds else { return nil }
        return "allocated \(Self.text(allocated)) - reserved for orders \(Self.text(reservedForOrders)) - reserved for positions "
            + "\(Self.text(reservedForPositions)) + realized P&L \(Self.text(realizedPnL)) = \(Self.text(available)) < 0"
    }

    static func text(_ d: Double) -> String {
        let r = (d * 100).rounded() / 100
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }
}
