import Observability
import Platform
import RobotConfig
import Wire

/// A worker's orders between its gate and its venue (docs/robot-worker.md, "Venues"): the order
/// book (`SimExecution`), the venue (`ExecutionVenue`), positions, the capital ledger, the order
/// timeout, the execution queue and reconciliation. It journals every order and position event
/// and tells observers (`observe`) of each.
///
/// ```
///  Engine.place ─▶ ledger check ─▶ ORDER_PLACED (journal, synced) ─▶ venue.place
///  (the snapshot follows when the loop is idle, and before a fill of an order it does not hold)
///  venue: accepted ─▶ ORDER_ACCEPTED     filled ─▶ ORDER_FILLED, POSITION_*, ledger check
///         rejected ─▶ ORDER_REJECTED     cancelled ─▶ ORDER_CANCELLED | ORDER_TIMEOUT
///  connected ─▶ re-send what waits ─▶ fetchState ─▶ Reconciliation ─▶ RECONCILIATION
/// ```
/// Runs on the reactor thread; `now` is monotonic seconds.
public final class OrderDesk {
    /// One order or position change, as journaled (`event`), for observers such as a strategy.
    public struct Update: Sendable {
        public var event: EventType
        public var order: SimOrder?
        public var position: VenuePosition?
        public var reason: String?
    }

    public internal(set) var book: SimExecution
    public let venue: any ExecutionVenue
    /// Positions by instrument, as the venue reported them.
    public internal(set) var positions: [String: VenuePosition] = [:]
    /// The last price seen (the worker's feed): what a market order reserves.
    public private(set) var lastPrice: Double
    /// While set, the worker holds OBSERVE_ONLY: the venue is unreachable or not reconciled yet.
    public internal(set) var holdReason: String?
    /// Called when `holdReason` changes; the engine settles its mode.
    public var onHold: ((String?) -> Void)?
    /// Writes the snapshot (after a fill, a cancel or a rejection, and before the fill of an order no
    /// snapshot holds yet); it clears `unsnapshotted` once written.
    public var persist: () -> Void = {}
    /// Orders placed since the snapshot was last written: the snapshot lags the journal (which
    /// carries them to the next start, `FenceMemory.accepted`) until the engine's loop is idle.
    public internal(set) var unsnapshotted: Set<String> = []
    /// Trips the fail-safe (`CAPITAL_INVARIANT`) or latches OBSERVE_ONLY (`RECONCILIATION_MISMATCH`).
    public var trip: (FailSafe.Trigger, String) -> Void = { _, _ in }
    public var metrics: LedgerMetrics?

    let log: EventLog
    private let settings: SafetySettings
    private let capital: Double
    let reconcileInterval: Double
    let now: () -> Double
    /// Client order ID -> when it was (last) sent without an answer: the execution queue.
    var sentAt: [String: Double] = [:]
    /// Client order ID -> true for a timeout's cancel, false for an operator's.
    var cancelling: [String: Bool] = [:]
    /// Fills already journaled (this run and the journal at start): never twice.
    var journaledFills: Set<String> = []
    /// Orders found placed in the journal only (`remember(unanswered:)`): never re-sent.
    var unsent: Set<String> = []
    /// Remembered positions at start (nil: none recorded, adopt the venue's).
    var startPositions: [String: Int]?
    var reconciledOnce = false
    var reconciling = false
    var nextReconcile: Double = .infinity
    private var observers: [(Update) -> Void] = []
    private var waiters: [String: [(Update) -> Void]] = [:]

    public init(
        venue: any ExecutionVenue, book: SimExecution, positions: [VenuePosition]?, log: EventLog, settings: SafetySettings,
        capital: Double, reconcileInterval: Double, referencePrice: Double, now: @escaping () -> Double
    ) {
        self.venue = venue
        self.book = book
        self.log = log
        self.settings = settings
        self.capital = capital
        self.reconcileInterval = reconcileInterval
        self.lastPrice = referencePrice
        self.now = now
        startPositions = positions.map { Dictionary($0.map { ($0.symbol, $0.quantity) }, uniquingKeysWith: { a, _ in a }) }
        for p in positions ?? [] { self.positions[p.symbol] = p }
        holdReason = "waiting for the \(venue.kind) venue's first reconciliation"
        // Orders carried over: an accepted one keeps its age (the timeout counts from the venue's
        // acceptance, across restarts); a sent one waits in the queue again.
        let t = now()
        for var o in book.open.values {
            if let at = o.acceptedAtUTC.flatMap(UTCTimestamp.parse) {
                o.placedAt = t - max(0, Double(UTCTimestamp.nowMicros() - at) / 1e6)
            } else {
                o.placedAt = t
                if o.status == .pending { sentAt[o.clientOrderID] = t }
            }
            self.book.update(o)
        }
        venue.onEvent = { [unowned self] event in self.handle(event) }
    }

    /// Fills the journal already holds (read at start): never journaled again.
    public func remember(filledOrderIDs: Set<String>) { journaledFills.formUnion(filledOrderIDs) }

    /// Connects to the venue; reconciliation follows its welcome.
    public func start() { venue.start(fence: book.fence) }

    /// Calls `body` with every update from now on.
    public func observe(_ body: @escaping (Update) -> Void) { observers.append(body) }

    /// Calls `body` once, at the venue's first answer about `clientOrderID` (accepted, rejected, ...).
    public func onceAnswered(_ clientOrderID: String, _ body: @escaping (Update) -> Void) {
        waiters[clientOrderID, default: []].append(body)
    }

    public var openOrders: [SimOrder] { book.open.values.sorted { $0.clientOrderID < $1.clientOrderID } }

    /// The ledger of the current book and positions.
    public var ledger: CapitalLedger {
        CapitalLedger(
            allocated: capital, orders: book.open.values.map { (reserving($0.side, $0.quantity, $0.symbol), $0.limit) },
            positions: positions.values.map { ($0.quantity, $0.averagePrice, $0.realizedPnL) }, lastPrice: lastPrice)
    }

    /// The quantity of an order that reserves capital: what it does not close of the instrument's position.
    func reserving(_ side: SimOrder.Side, _ quantity: Int, _ symbol: String) -> Int {
        let held = positions[symbol]?.quantity ?? 0
        let closes = (side == .buy) == (held < 0) ? abs(held) : 0
        return max(0, quantity - closes)
    }

    /// The execution queue: stalled when an order waits for the venue longer than `queue_stall_seconds`.
    public func queueStatus(now t: Double) -> HealthMonitor.QueueStatus {
        guard let oldest = sentAt.values.min() else { return .idle }
        return t - oldest > settings.queueStallSeconds ? .stalled : .processing
    }

    // MARK: orders

    /// Places an order the engine's mode and gates let through. `alongside` journals what goes with
    /// the order (the strategy's `STRATEGY_ORDER`) after `ORDER_PLACED`, in the same sync.
    func place(
        stream: String, symbol: String, side: SimOrder.Side, quantity: Int, limit: Double?, mode: SystemMode, modeReason: String,
        alongside: ((SimOrder) -> Void)? = nil
    ) -> Engine.OrderReply {
        let current = ledger
        let cost = Double(reserving(side, quantity, symbol)) * (limit ?? lastPrice)
        if mode.mayExecute, quantity > 0, let refusal = current.refusal(cost: cost) {
            metrics?.capitalRefused()
            log.emit(.orderRejected, ["stream": .string(stream), "reason": .string("CAPITAL"), "detail": .string(refusal)])
            return .rejected(refusal)
        }
        switch book.place(
            stream: stream, symbol: symbol, side: side, quantity: quantity, limit: limit, mode: mode, now: now(), nowUTC: UTCTimestamp.now()
        )
        {
        case .accepted(let order):
            log.emit(.orderPlaced, Self.data(order, ["fence": .int(book.fence), "venue": .string(venue.kind)]))
            alongside?(order)
            sentAt[order.clientOrderID] = now()
            unsnapshotted.insert(order.clientOrderID)
            // The order reaches the venue only once its ORDER_PLACED line is durable; the journal,
            // not the snapshot, carries it to the next start.
            log.commit()
            notify(Update(event: .orderPlaced, order: order))
            venue.place(venueOrder(order))
            return .placed(book.order(order.clientOrderID) ?? order)
        case .blocked(let mode):
            log.emit(
                .orderBlocked,
                [
                    "stream": .string(stream), "side": .string(side.rawValue), "quantity": .int(Int64(quantity)),
                    "mode": .string(mode.rawValue),
                    "reason": .string(modeReason),
                ])
            return .blocked(mode)
        case .rejected(let why):
            log.emit(.orderRejected, ["stream": .string(stream), "reason": .string(why)])
            return .rejected(why)
        }
    }

    /// Asks the venue to cancel an open order; nil when the book has no such order.
    func cancel(_ clientOrderID: String, timeout: Bool = false) -> SimOrder? {
        guard let order = book.order(clientOrderID) else { return nil }
        if cancelling[clientOrderID] == nil { cancelling[clientOrderID] = timeout }
        venue.cancel(clientOrderID, fence: book.fence)
        return book.order(clientOrderID) ?? order
    }

    func raiseFence(to fence: Int64) { book.fence = max(book.fence, fence) }
    func remember(usedOrderIDs: Set<String>) { book.usedIDs.formUnion(usedOrderIDs) }

    /// A tick of the worker's feed: the last price, and the SIM venue's fills.
    func tick(_ tick: Tick) {
        lastPrice = tick.price
        venue.tick(price: tick.price, timeUTC: tick.time)
    }

    /// Order timeouts (a cancel, journaled `ORDER_TIMEOUT` when the venue confirms it) and the
    /// periodic reconciliation.
    func evaluate(now t: Double) {
        for o in book.open.values where o.status == .open && cancelling[o.clientOrderID] == nil && t - o.placedAt >= book.timeoutSeconds {
            _ = cancel(o.clientOrderID, timeout: true)
        }
        if t >= nextReconcile, !reconciling, venue.isReachable { reconcile("periodic") }
        report(ledger)
    }

    func report(_ l: CapitalLedger) {
        metrics?.ledger(
            allocated: l.allocated, reservedForOrders: l.reservedForOrders, reservedForPositions: l.reservedForPositions,
            realizedPnL: l.realizedPnL)
    }

    // MARK: the venue's answers

    func handle(_ event: VenueEvent) {
        switch event {
        case .connected:
            // The books are compared first: what the venue holds of what waits is adopted, what it
            // never received is sent again (the venue answers a repeated ID with the order it holds).
            reconcile(reconciledOnce ? "reconnected" : "start")
        case .disconnected(let why):
            setHold("the \(venue.kind) venue is unreachable: \(why)")
        case .accepted(let v, let duplicate):
            if v.status == "FILLED" {
                filled(v, nil)
            } else if v.status == "CANCELLED" {
                cancelled(v)
            } else {
                accepted(v, duplicate: duplicate, adopted: false)
            }
        case .rejected(let id, let reason, let detail, let isCancel):
            if isCancel {
                cancelling[id] = nil
                return
            }
            sentAt[id] = nil
            guard let o = book.remove(id) else { return }
            var r = o
            r.status = .rejected
            log.emit(.orderRejected, Self.data(r, ["reason": .string(reason), "detail": .string(detail), "venue": .string(venue.kind)]))
            persist()
            notify(Update(event: .orderRejected, order: r, reason: "\(reason): \(detail)"))
        case .cancelled(let v): cancelled(v)
        case .filled(let v, let p): filled(v, p)
        }
    }

    func accepted(_ v: VenueOrder, duplicate: Bool, adopted: Bool) {
        sentAt[v.clientOrderID] = nil
        guard var o = book.order(v.clientOrderID), o.status == .pending else { return }
        o.status = .open
        o.acceptedAtUTC = v.acceptedAtUTC
        let age = UTCTimestamp.parse(v.acceptedAtUTC).map { max(0, Double(UTCTimestamp.nowMicros() - $0) / 1e6) } ?? 0
        o.placedAt = now() - age
        book.update(o)
        log.emit(
            .orderAccepted,
            Self.data(
                o,
                [
                    "accepted_at_utc": .string(v.acceptedAtUTC), "duplicate": .bool(duplicate), "adopted": .bool(adopted),
                    "venue": .string(venue.kind),
                ]))
        // No snapshot here: the journal holds the acceptance (`FenceMemory.acceptedAt`), and a
        // restart's reconciliation finds the order at the venue anyway.
        notify(Update(event: .orderAccepted, order: o))
    }

    func cancelled(_ v: VenueOrder) {
        sentAt[v.clientOrderID] = nil
        let timeout = cancelling.removeValue(forKey: v.clientOrderID) ?? false
        let o = book.remove(v.clientOrderID) ?? Self.simOrder(v)
        var c = o
        c.status = timeout ? .timedOut : .cancelled
        let extra: JSONObject =
            timeout ? ["timeout_seconds": .double(book.timeoutSeconds)] : ["fence": .int(v.fence), "venue": .string(venue.kind)]
        log.emit(timeout ? .orderTimeout : .orderCancelled, Self.data(c, extra))
        persist()
        notify(Update(event: timeout ? .orderTimeout : .orderCancelled, order: c))
    }

    func filled(_ v: VenueOrder, _ position: VenuePosition?) {
        // A snapshot holds the order before its fill is journaled: a crash between the fill's line
        // and the snapshot written after it finds the order in the snapshot, and the venue's fill
        // explains the position (the journal's closed orders are not carried to the next start).
        if unsnapshotted.contains(v.clientOrderID) { persist() }
        sentAt[v.clientOrderID] = nil
        cancelling[v.clientOrderID] = nil
        let known = book.remove(v.clientOrderID, filled: true)
        var o = known ?? Self.simOrder(v)
        o.status = .filled
        o.fillPrice = v.fillPrice
        let first = !journaledFills.contains(v.clientOrderID)
        if first {
            journaledFills.insert(v.clientOrderID)
            let price: JSONValue = v.fillPrice.map { .double($0) } ?? .null
            log.emit(
                .orderFilled, Self.data(o, ["price": price, "fill_price": price, "fence": .int(v.fence), "known": .bool(known != nil)]))
        }
        if let position { positionChanged(position) }
        guard first || position != nil else { return }
        persist()
        if first { notify(Update(event: .orderFilled, order: o, position: position)) }
        checkLedger()
    }

    /// Journals a position's change (`POSITION_OPENED`, `_UPDATED`, `_CLOSED`) and keeps it.
    func positionChanged(_ p: VenuePosition) {
        let before = positions[p.symbol]
        guard before != p else { return }
        positions[p.symbol] = p
        let type: EventType = (before?.quantity ?? 0) == 0 ? .positionOpened : p.quantity == 0 ? .positionClosed : .positionUpdated
        if before == nil, p.quantity == 0 { return }
        log.emit(
            type,
            [
                "instrument": .string(p.symbol), "side": .string(p.side), "quantity": .int(Int64(p.quantity)),
                "average_price": .double(p.averagePrice), "realized_pnl": .double(p.realizedPnL),
            ])
        notify(Update(event: type, position: p))
    }

    func checkLedger() {
        let l = ledger
        report(l)
        guard let violation = l.violation else { return }
        metrics?.capitalViolation()
        trip(.capitalInvariant, violation)
    }

    // MARK: helpers

    func notify(_ u: Update) {
        // Whoever tells anyone of it (the control socket's answer, the strategy's messages) syncs
        // the journal's pending lines first (`EventLog.commit`): none is synced here for nobody.
        if let id = u.order?.clientOrderID, u.event != .orderPlaced, let ws = waiters.removeValue(forKey: id) { for w in ws { w(u) } }
        for o in observers { o(u) }
    }

    /// What goes to the venue: an order (re)sent now carries the current holder's fence (a sent
    /// order carried over from an earlier run is this holder's now; one the venue accepted before
    /// is answered as a duplicate, whatever the fence).
    func venueOrder(_ o: SimOrder) -> VenueOrder {
        var v = Self.venueOrder(o, market: book.market, fence: book.fence)
        v.fence = book.fence
        return v
    }

    static func venueOrder(_ o: SimOrder, market: String, fence: Int64 = 1) -> VenueOrder {
        VenueOrder(
            clientOrderID: o.clientOrderID, account: "", market: market, symbol: o.symbol, stream: o.stream,
            side: o.side == .buy ? .buy : .sell, quantity: o.quantity, limit: o.limit, fence: o.fence ?? fence,
            acceptedAtUTC: o.acceptedAtUTC ?? o.placedAtUTC)
    }

    static func simOrder(_ v: VenueOrder) -> SimOrder {
        SimOrder(
            clientOrderID: v.clientOrderID, stream: v.stream, symbol: v.symbol, side: v.side == .buy ? .buy : .sell, quantity: v.quantity,
            limit: v.limit, status: .open, placedAtUTC: v.acceptedAtUTC, placedAt: 0, fillPrice: v.fillPrice, fence: v.fence,
            acceptedAtUTC: v.acceptedAtUTC)
    }

    static func data(_ o: SimOrder, _ extra: JSONObject) -> JSONObject {
        var d: JSONObject = [
            "client_order_id": .string(o.clientOrderID), "stream": .string(o.stream), "symbol": .string(o.symbol),
            "side": .string(o.side.rawValue), "quantity": .int(Int64(o.quantity)), "limit": o.limit.map { .double($0) } ?? .null,
            "status": .string(o.status.rawValue),
        ]
        for (k, v) in extra.members { d[k] = v }
        return d
    }
}
