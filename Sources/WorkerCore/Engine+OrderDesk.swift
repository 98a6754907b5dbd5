/// What the engine passes through to its order desk (`OrderDesk`): positions, order IDs and the
/// fence, cancels, open orders. New orders go through `Engine.place` (the gate) only.
extension Engine {
    /// Net filled quantity by stream (buys positive).
    public var positions: [String: Double] { desk.book.positions }

    /// Order IDs the market's history used (`FenceMemory`): never handed out again.
    public func remember(usedOrderIDs: Set<String>) { desk.remember(usedOrderIDs: usedOrderIDs) }

    /// New orders carry `fence` from now on (raised, never lowered; `EventLog.fence` follows).
    /// `persist: false` leaves the snapshot to the caller's next write (a lease acquisition's
    /// startup checks write it before the handler ends).
    public func raiseFence(to fence: Int64, persist: Bool = true) {
        guard fence > desk.book.fence else { return }
        desk.raiseFence(to: fence)
        if persist { writeSnapshot() }
    }

    /// Asks the venue to cancel an open order (allowed in every mode); `ORDER_CANCELLED` follows its answer.
    public func cancel(_ clientOrderID: String) -> SimOrder? { desk.cancel(clientOrderID) }

    public var openOrders: [SimOrder] { desk.openOrders }
}
