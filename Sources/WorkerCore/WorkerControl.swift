import Foundation
import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// A request on a worker's control socket (`socket_dir/worker-M.sock`, docs/PROTOCOL.md).
/// `{"v":1,"type":"order","side":"buy","quantity":1,"stream":"ES1","limit":5000.25}`,
/// `{"v":1,"type":"cancel","client_order_id":"SIM-ES-F7-000001"}`, `{"v":1,"type":"orders"}`.
public struct WorkerRequest: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type: String
    public var side: String?
    public var quantity: Int?
    public var stream: String?
    public var limit: Double?
    public var clientOrderID: String?

    public init(
        type: String, side: String? = nil, quantity: Int? = nil, stream: String? = nil, limit: Double? = nil, clientOrderID: String? = nil
    ) {
        self.type = type
        self.side = side
        self.quantity = quantity
        self.stream = stream
        self.limit = limit
        self.clientOrderID = clientOrderID
    }

    enum CodingKeys: String, CodingKey {
        case v, type, side, quantity, stream, limit
        case clientOrderID = "client_order_id"
    }
}

/// The answer: `outcome` is `placed`, `blocked`, `rejected`, `refused` (the order gate: `IDENTITY_VIOLATION`, `FENCE_UNCONFIRMED`, `FENCE_REGRESSION`), `cancelled`, `not_found`, `orders`,
/// `not_permitted` or `bad_request`.
public struct WorkerResponse: Codable, Sendable, Equatable {
    public var v: Int64 = WireFormat.version
    public var type = "response"
    public var ok: Bool
    public var outcome: String
    public var message: String
    public var mode: String
    public var orders: [SimOrder]
    /// `positions`: by instrument, as the venue reported them.
    public var positions: [VenuePosition]?
    /// `positions`: the capital ledger's terms.
    public var ledger: [String: Double]?

    public init(ok: Bool, outcome: String, message: String, mode: String, orders: [SimOrder] = []) {
        self.ok = ok
        self.outcome = outcome
        self.message = message
        self.mode = mode
        self.orders = orders
    }
}

/// Serves a worker's control socket: SIM orders and cancels from `robot-worker order|cancel`.
/// Placing and cancelling change state: only peers whose uid is root or the worker's own may.
final class WorkerControl {
    private let engine: Engine
    private let reactor: Reactor
    private let listener: Int32
    private var connections: [Int32: LineConnection] = [:]

    init(path: String, engine: Engine, reactor: Reactor) throws(SystemError) {
        self.engine = engine
        self.reactor = reactor
        listener = try UnixSocket.listen(path: path, mode: 0o660, backlog: 64)
        reactor.watch(listener) { [unowned self] _ in self.accept() }
    }

    deinit {
        reactor.unwatch(listener)
        close(listener)
    }

    private func accept() {
        while let fd = UnixSocket.accept(listener) {
            guard connections.count < 64 else {
                close(fd)
                continue
            }
            let c = LineConnection(fd: fd, reactor: reactor)
            c.onFrame = { [unowned self, unowned c] frame in self.handle(frame, on: c) }
            c.onClose = { [unowned self] _ in self.connections[fd] = nil }
            connections[fd] = c
        }
    }

    private func handle(_ frame: LineFramer.Frame, on c: LineConnection) {
        guard case .line(let bytes) = frame, let request = WorkerRequest.parse(Array(bytes)) else {
            c.send(reply(false, "bad_request", "expected one JSON request per line (docs/PROTOCOL.md)").line)
            return
        }
        let permitted = c.peer.map { $0.uid == 0 || $0.uid == getuid() } ?? false
        if request.type != "orders", request.type != "positions", !permitted {
            c.send(reply(false, "not_permitted", "uid \(c.peer?.uid ?? 0) may not place or cancel orders").line)
            return
        }
        if request.type == TestWedge.requestType, TestWedge.allowed {
            c.send(reply(true, "wedged", "the event loop blocks now (test only, \(TestWedge.environmentKey)=1)").line)
            reactor.schedule(afterNanos: 0) { TestWedge.blockForever() }
            return
        }
        // An order sent to a venue that answers later is answered once the venue has (accepted or
        // rejected), or after 5 s with what is known then; the loop never waits.
        let response = answer(request)
        if request.type == "order", let o = response.orders.first, o.status == .pending {
            var done = false
            let finish = { [weak c, unowned self] (r: WorkerResponse) in
                guard !done else { return }
                done = true
                self.engine.commitJournal()
                c?.send(r.line)
            }
            engine.desk.onceAnswered(o.clientOrderID) { [unowned self] u in
                let ok = u.event == .orderAccepted || u.event == .orderFilled
                let text =
                    ok
                    ? "\(o.clientOrderID) accepted by the \(self.engine.desk.venue.kind) venue" : "rejected by the venue: \(u.reason ?? "")"
                finish(self.reply(ok, ok ? "placed" : "rejected", text, u.order.map { [$0] } ?? [o]))
            }
            reactor.schedule(afterSeconds: 5) { [unowned self] in
                finish(self.reply(true, "sent", "\(o.clientOrderID) sent; the venue has not answered yet", [o]))
            }
            return
        }
        engine.commitJournal() // the answer follows the lines it reports (ORDER_BLOCKED, ORDER_REJECTED, ...)
        c.send(response.line)
    }

    private func answer(_ r: WorkerRequest) -> WorkerResponse {
        switch r.type {
        case "order":
            guard let sideText = r.side?.uppercased(), let side = SimOrder.Side(rawValue: sideText) else {
                return reply(false, "bad_request", "side must be buy or sell")
            }
            guard let quantity = r.quantity else { return reply(false, "bad_request", "quantity is missing") }
            switch engine.place(stream: r.stream, side: side, quantity: quantity, limit: r.limit) {
            case .placed(let o):
                return reply(
                    true, "placed",
                    "\(o.clientOrderID) placed: \(o.side.rawValue) \(o.quantity) \(o.symbol) on \(o.stream)"
                        + (o.limit.map { " limit \($0)" } ?? " at market"), [o])
            case .blocked(let mode):
                return reply(
                    false, "blocked", "blocked: the worker is in \(mode.rawValue) (\(engine.modeReason)); new orders need AGGRESSIVE")
            case .rejected(let why):
                return reply(false, "rejected", "rejected: \(why)")
            case .refused(let refusal):
                return reply(false, "refused", "refused: \(refusal.reason): \(refusal.detail)")
            }
        case "cancel":
            guard let id = r.clientOrderID else { return reply(false, "bad_request", "client_order_id is missing") }
            guard let o = engine.cancel(id) else { return reply(false, "not_found", "no open order \(id)") }
            return reply(true, "cancelled", "\(o.clientOrderID) cancelled", [o])
        case "orders":
            return reply(true, "orders", "\(engine.openOrders.count) open orders", engine.openOrders)
        case "positions":
            var r = reply(true, "positions", "\(engine.desk.positions.count) positions", [])
            r.positions = engine.desk.positions.values.sorted { $0.symbol < $1.symbol }
            let l = engine.desk.ledger
            r.ledger = [
                "allocated": l.allocated, "reserved_for_orders": l.reservedForOrders, "reserved_for_positions": l.reservedForPositions,
                "realized_pnl": l.realizedPnL, "available": l.available,
            ]
            return r
        default:
            return reply(false, "bad_request", "unknown request type \"\(r.type)\"; expected order, cancel, orders or positions")
        }
    }

    private func reply(_ ok: Bool, _ outcome: String, _ message: String, _ orders: [SimOrder] = []) -> WorkerResponse {
        WorkerResponse(ok: ok, outcome: outcome, message: message, mode: engine.mode.rawValue, orders: orders)
    }
}
