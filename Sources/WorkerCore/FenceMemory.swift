import Wire

/// What the market's own records (its journal and snapshot, kept in the state folder, not the lock
/// folder) remember of its history: the highest fence any run used and every client order ID placed.
/// A lock folder that lost its fences (wiped, restored from a backup, a new disk) hands out fence 1
/// again; this memory, and the watchdog's high-water mark, are how the worker notices
/// (docs/robot-worker.md, "Fence memory"). Pure: bytes in, facts out.
public struct FenceMemory: Sendable, Equatable {
    /// The highest fence of any event in the journal or of the snapshot; 0 when none.
    public var highestFence: Int64 = 0
    /// Every `client_order_id` the journal's `ORDER_PLACED` events and the snapshot's orders name.
    public var usedOrderIDs: Set<String> = []
    /// Every `client_order_id` the journal's `ORDER_FILLED` events name: a fill is journaled once.
    public var filledOrderIDs: Set<String> = []
    /// `ORDER_PLACED` events with no later answer (`ORDER_ACCEPTED`, `_FILLED`, `_CANCELLED`,
    /// `_REJECTED`, `_TIMEOUT`): orders a crash may have left between the journal and the snapshot.
    public var unanswered: [SimOrder] = []
    /// Client order ID -> `accepted_at_utc` of every `ORDER_ACCEPTED` (the snapshot is not rewritten
    /// for an acceptance: the journal holds it).
    public var acceptedAt: [String: String] = [:]
    /// Orders the journal holds accepted and not yet closed (`ORDER_FILLED`, `_CANCELLED`,
    /// `_REJECTED`, `_TIMEOUT`) that the snapshot does not hold: the snapshot is not rewritten when
    /// an order is placed or accepted, so a crash before the next one leaves them in the journal only.
    public var accepted: [SimOrder] = []

    public init() {}

    /// The snapshot with the journal's accepted orders it lacks (`accepted`), so the order book,
    /// reconciliation and the in-process SIM venue start from every open order, as if the snapshot
    /// had been written after the last acceptance. An order on a stream the snapshot already holds
    /// an order for is left out (one open order per stream; reconciliation reports what remains).
    public func restoring(_ snapshot: WorkerSnapshot?) -> WorkerSnapshot? {
        guard var s = snapshot, !accepted.isEmpty else { return snapshot }
        var streams = Set(s.orders.filter { $0.status == .open || $0.status == .pending }.map(\.stream))
        for o in accepted where !streams.contains(o.stream) {
            streams.insert(o.stream)
            s.orders.append(o)
        }
        return s
    }

    /// From the start-up scan's state of the journal (`JournalVerifier.State`: the highest fence and
    /// the order IDs at that fence; a new run's fence is above it) and a decoded snapshot.
    public init(journal state: JournalVerifier.State, snapshot: WorkerSnapshot?) {
        highestFence = state.highestFence
        usedOrderIDs = state.orderIDs
        filledOrderIDs = state.filledOrderIDs
        acceptedAt = state.acceptedAt
        // In the order they were placed (a client order ID ends in the run's order sequence).
        unanswered = Self.placementOrder(state.unanswered.values)
        accepted = Self.placementOrder(state.accepted.values)
        if let snapshot { add(snapshot) }
    }

    private static func placementOrder(_ orders: some Sequence<SimOrder>) -> [SimOrder] {
        orders.sorted { ($0.placedAtUTC, $0.clientOrderID) < ($1.placedAtUTC, $1.clientOrderID) }
    }

    /// What the snapshot adds: its fence and order IDs; the orders it holds are not the journal's alone.
    private mutating func add(_ snapshot: WorkerSnapshot) {
        highestFence = max(highestFence, snapshot.fence)
        for o in snapshot.orders { usedOrderIDs.insert(o.clientOrderID) }
        let held = Set(snapshot.orders.map(\.clientOrderID))
        unanswered.removeAll { held.contains($0.clientOrderID) }
        accepted.removeAll { held.contains($0.clientOrderID) }
    }

    /// Reads a journal's bytes (lines that are not events are skipped) and a decoded snapshot.
    public init(journal bytes: [UInt8], snapshot: WorkerSnapshot?) {
        var start = 0
        let placed = EventType.orderPlaced.rawValue
        let filled = EventType.orderFilled.rawValue
        let answers: Set<String> = [
            EventType.orderAccepted.rawValue, filled, EventType.orderCancelled.rawValue, EventType.orderRejected.rawValue,
            EventType.orderTimeout.rawValue,
        ]
        var open: [String: SimOrder] = [:]
        var order: [String] = []
        var orders = JournalVerifier.State()
        bytes.withUnsafeBufferPointer { all in
            while start < all.count {
                let end = all[start...].firstIndex(of: UInt8(ascii: "\n")) ?? all.count
                defer { start = end + 1 }
                guard end > start else { continue }
                guard let event = try? Event.decode(line: UnsafeBufferPointer(rebasing: all[start..<end])) else { continue }
                highestFence = max(highestFence, event.fence)
                if event.type.hasPrefix("ORDER_") { orders.trackOrders(event) }
                if event.type == placed, let id = event.data["client_order_id"]?.stringValue { usedOrderIDs.insert(id) }
                if event.type == filled, let id = event.data["client_order_id"]?.stringValue { filledOrderIDs.insert(id) }
                if event.type == placed, let o = Self.placedOrder(event) {
                    open[o.clientOrderID] = o
                    order.append(o.clientOrderID)
                } else if answers.contains(event.type), let id = event.data["client_order_id"]?.stringValue {
                    open[id] = nil
                    if event.type == EventType.orderAccepted.rawValue { acceptedAt[id] = event.data["accepted_at_utc"]?.stringValue ?? "" }
                }
            }
        }
        unanswered = order.compactMap { open.removeValue(forKey: $0) }
        accepted = Self.placementOrder(orders.accepted.values)
        if let snapshot { add(snapshot) }
    }

    static func placedOrder(_ e: Event) -> SimOrder? {
        let d = e.data
        guard let id = d["client_order_id"]?.stringValue, let stream = d["stream"]?.stringValue, let symbol = d["symbol"]?.stringValue,
            let side = d["side"]?.stringValue.flatMap(SimOrder.Side.init(rawValue:)), let q = d["quantity"]?.intValue
        else { return nil }
        return SimOrder(
            clientOrderID: id, stream: stream, symbol: symbol, side: side, quantity: Int(q), limit: d["limit"]?.doubleValue,
            status: .pending,
            placedAtUTC: e.ts, placedAt: 0, fillPrice: nil, fence: d["fence"]?.intValue ?? e.fence)
    }
}
