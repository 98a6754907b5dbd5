import Wire

/// The in-process SIM venue (the default): accepts at once and fills at the worker's own ticks,
/// with `SimExecution`'s rule (a market order at the next tick, a limit when a tick crosses it).
/// It lives and dies with the worker: what it holds at start is what the worker's snapshot held.
public final class SimVenue: ExecutionVenue {
    public let kind = "sim"
    public let isReachable = true
    public let problem = ""
    public var onEvent: ((VenueEvent) -> Void)?
    private let account: String
    private let market: String
    private var orders: [String: VenueOrder] = [:]
    private var openIDs: [String] = []
    private var positions: [String: VenuePosition] = [:]
    private var highWater: Int64 = 0

    /// `orders`: the open orders the worker's snapshot holds; `positions`: its positions.
    public init(account: String, market: String, orders: [VenueOrder] = [], positions: [VenuePosition] = []) {
        self.account = account
        self.market = market
        for o in orders where o.isOpen {
            self.orders[o.clientOrderID] = o
            openIDs.append(o.clientOrderID)
        }
        for p in positions { self.positions[p.symbol] = p }
    }

    public func start(fence: Int64) {
        highWater = max(highWater, fence)
        onEvent?(.connected(highWater: highWater))
    }

    public func place(_ order: VenueOrder) {
        if let existing = orders[order.clientOrderID] {
            onEvent?(.accepted(existing, duplicate: true))
            return
        }
        guard order.fence >= highWater else {
            onEvent?(
                .rejected(
                    clientOrderID: order.clientOrderID, reason: VenueRejection.staleFence.rawValue,
                    detail: "fence \(order.fence) is below \(highWater)", cancel: false))
            return
        }
        highWater = order.fence
        var o = order
        o.account = account
        o.market = market
        o.status = "OPEN"
        o.acceptedAtUTC = UTCTimestamp.now()
        orders[o.clientOrderID] = o
        openIDs.append(o.clientOrderID)
        onEvent?(.accepted(o, duplicate: false))
    }

    public func cancel(_ clientOrderID: String, fence: Int64) {
        guard var o = orders[clientOrderID] else {
            onEvent?(
                .rejected(clientOrderID: clientOrderID, reason: VenueRejection.notFound.rawValue, detail: "no such order", cancel: true))
            return
        }
        guard o.isOpen else {
            onEvent?(.rejected(clientOrderID: clientOrderID, reason: VenueRejection.notOpen.rawValue, detail: o.status, cancel: true))
            return
        }
        o.status = "CANCELLED"
        o.doneAtUTC = UTCTimestamp.now()
        orders[clientOrderID] = o
        openIDs.removeAll { $0 == clientOrderID }
        onEvent?(.cancelled(o))
    }

    public func fetchState(ids: [String], _ reply: @escaping (VenueState?) -> Void) {
        let wanted = Set(ids)
        let list = orders.values.filter { $0.isOpen || wanted.contains($0.clientOrderID) }.sorted { $0.clientOrderID < $1.clientOrderID }
        reply(VenueState(orders: list, positions: positions.values.sorted { $0.symbol < $1.symbol }))
    }

    public func tick(price: Double, timeUTC: String) {
        guard !openIDs.isEmpty else { return }
        for id in openIDs {
            guard var o = orders[id], SimExecution.fills(side: o.side == .buy ? .buy : .sell, limit: o.limit, at: price) else { continue }
            o.status = "FILLED"
            o.fillPrice = price
            o.doneAtUTC = timeUTC
            orders[id] = o
            openIDs.removeAll { $0 == id }
            var p = positions[o.symbol] ?? VenuePosition(account: account, market: market, symbol: o.symbol)
            p.apply(signedQuantity: o.side.sign * o.quantity, price: price)
            positions[o.symbol] = p
            onEvent?(.filled(o, p))
        }
        // Terminal orders are kept for idempotency only while the run lasts; the journal keeps the rest.
        if orders.count > 10_000 { orders = orders.filter { $0.value.isOpen } }
    }
}
