import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The paper venue's shell (docs/paper-venue.md): its Unix socket (and a TCP listener on loopback),
/// one non-blocking `LineConnection` per client on one reactor, the `PaperBook` and its journal.
///
/// The first line of a connection is a hello naming the account and market; a Unix peer must be
/// root or the venue's own user (SO_PEERCRED), a TCP peer must present the venue's token. A
/// malformed, oversized or unknown request is answered with an error and the connection keeps
/// serving. Records a batch of requests made are journaled and fdatasynced once, before any of
/// their answers is sent (group commit per read); a journal that cannot be written stops the
/// venue (exit 74), so nothing is ever answered that a restart would forget.
public final class PaperVenueServer {
    final class Client {
        let connection: LineConnection
        let tcp: Bool
        var key: PaperBook.Key?
        var outbox: [UInt8] = []
        init(connection: LineConnection, tcp: Bool) {
            self.connection = connection
            self.tcp = tcp
        }
    }

    public private(set) var book: PaperBook
    private let journal: PaperJournal
    private let reactor: Reactor
    private let token: String?
    private var listeners: [(fd: Int32, tcp: Bool)] = []
    private var clients: [Int32: Client] = [:]
    private var records: [JSONValue] = []
    private var touched: [Client] = []
    /// Called with a line for the operator's log (refusals, journal failures).
    public var note: (String) -> Void = { _ in }
    /// Called when the journal fails: the venue must stop.
    public var onJournalFailure: (String) -> Void = { _ in exit(74) }
    public private(set) var refused = 0
    public static let maxClients = 256

    public init(reactor: Reactor, book: PaperBook, journal: PaperJournal, token: String?) {
        self.reactor = reactor
        self.book = book
        self.journal = journal
        self.token = token
    }

    /// Listens on the Unix socket `path` (mode 0660).
    public func listen(unix path: String) throws(SystemError) {
        let fd = try UnixSocket.listen(path: path, mode: 0o660, backlog: 128)
        add(listener: fd, tcp: false)
    }

    /// Listens on `host:port` (loopback); returns the bound port.
    @discardableResult
    public func listen(tcpHost host: String, port: Int) throws(SystemError) -> Int {
        let fd = try LoopbackTCP.listen(host: host, port: port)
        add(listener: fd, tcp: true)
        return LoopbackTCP.boundPort(fd)
    }

    private func add(listener fd: Int32, tcp: Bool) {
        listeners.append((fd, tcp))
        reactor.watch(fd) { [unowned self] _ in self.accept(fd, tcp: tcp) }
    }

    private func accept(_ listener: Int32, tcp: Bool) {
        while let fd = UnixSocket.accept(listener) {
            guard clients.count < Self.maxClients else {
                close(fd)
                continue
            }
            if tcp { LoopbackTCP.noDelay(fd) }
            let c = Client(connection: LineConnection(fd: fd, reactor: reactor, maxLineBytes: VenueProtocol.maxLineBytes), tcp: tcp)
            c.connection.onFrame = { [unowned self, unowned c] frame in self.handle(frame, from: c) }
            c.connection.onReadHandled = { [unowned self] in self.commit() }
            c.connection.onClose = { [unowned self] _ in self.clients[fd] = nil }
            clients[fd] = c
        }
    }

    // MARK: requests

    private func handle(_ frame: LineFramer.Frame, from c: Client) {
        guard case .line(let bytes) = frame else {
            reply(c, error(.lineTooLong, "a request is at most \(VenueProtocol.maxLineBytes) bytes"))
            return
        }
        guard case .object(let o)? = try? JSONParser.parse(bytes) else {
            reply(c, error(.badRequest, "expected one JSON object per line (docs/PROTOCOL.md, \"The venue socket\")"))
            return
        }
        guard o["v"]?.intValue == VenueProtocol.version else {
            reply(c, error(.unsupportedVersion, "v must be \(VenueProtocol.version)"))
            return
        }
        let type = o["type"]?.stringValue ?? ""
        if type == "hello" {
            hello(o, from: c)
            return
        }
        guard let key = c.key else {
            reply(c, error(.helloFirst, "say hello (account, market, fence) first"))
            return
        }
        let now = UTCTimestamp.now()
        switch type {
        case "place":
            guard let order = o["order"]?.objectValue else {
                reply(c, error(.badRequest, "place needs an order"))
                return
            }
            if let problem = VenueOrder.problem(in: order) {
                reply(c, rejected(order["client_order_id"]?.stringValue ?? "", .invalid, problem, request: "place"))
                return
            }
            let o = VenueOrder(.object(order))!
            answer(book.place(o, key, nowUTC: now, records: &records), to: c, request: "place", id: o.clientOrderID)
        case "cancel":
            guard let id = o["client_order_id"]?.stringValue, let fence = o["fence"]?.intValue else {
                reply(c, error(.badRequest, "cancel needs client_order_id and fence"))
                return
            }
            answer(book.cancel(id, fence: fence, key, nowUTC: now, records: &records), to: c, request: "cancel", id: id)
        case "state":
            let state = book.state(key, ids: o["ids"]?.stringArrayValue ?? [])
            reply(
                c,
                .object([
                    "v": .int(VenueProtocol.version), "type": "state", "id": o["id"] ?? .null, "orders": .array(state.orders.map(\.json)),
                    "positions": .array(state.positions.map(\.json)), "fence_high_water": .int(book.highFence(key)),
                ]))
        default:
            reply(c, error(.badRequest, "unknown request type \"\(type)\"; expected hello, place, cancel or state"))
        }
    }

    private func hello(_ o: JSONObject, from c: Client) {
        guard let account = o["account"]?.stringValue, TradingAccount(account) != nil, let market = o["market"]?.stringValue,
            Identifier.isValidMarket(market), let fence = o["fence"]?.intValue, fence >= 0
        else {
            reply(c, error(.badRequest, "hello needs account, market and fence"))
            return
        }
        if c.tcp {
            guard let token, o["token"]?.stringValue == token else {
                refuse(c, "a TCP hello must carry the venue's token (venue.token_file)")
                return
            }
        } else {
            let me = getuid()
            guard let peer = c.connection.peer, peer.uid == 0 || peer.uid == me else {
                refuse(c, "uid \(c.connection.peer.map { String($0.uid) } ?? "?") may not use this venue (root or uid \(me) only)")
                return
            }
        }
        let key = PaperBook.Key(account: account, market: market)
        c.key = key
        let mark = book.hello(key, fence: fence, records: &records)
        reply(
            c,
            .object([
                "v": .int(VenueProtocol.version), "type": "welcome", "venue": "paper", "account": .string(account),
                "market": .string(market),
                "fence_high_water": .int(mark),
            ]))
    }

    private func refuse(_ c: Client, _ why: String) {
        refused += 1
        note("refused a client: \(why)")
        c.connection.send(error(.notPermitted, why).ndjsonLine)
        c.connection.close()
    }

    private func answer(_ outcome: PaperBook.Outcome, to c: Client, request: String, id: String? = nil) {
        switch outcome {
        case .accepted(let o, let duplicate):
            reply(c, .object(["v": .int(VenueProtocol.version), "type": "accepted", "order": o.json, "duplicate": .bool(duplicate)]))
        case .cancelled(let o):
            reply(c, .object(["v": .int(VenueProtocol.version), "type": "cancelled", "order": o.json]))
        case .rejected(let reason, let detail):
            reply(c, rejected(id ?? "", reason, detail, request: request))
        }
    }

    // MARK: ticks

    /// A tick of `market`'s feed: fills, journaled, then sent to every client of the account and market.
    public func tick(market: String, price: Double, timeUTC: String) {
        let fills = book.tick(market: market, price: price, timeUTC: timeUTC, records: &records)
        guard !fills.isEmpty else { return }
        for (key, order, position) in fills {
            let line = JSONValue.object(["v": .int(VenueProtocol.version), "type": "fill", "order": order.json, "position": position.json])
            for c in clients.values where c.key == key { reply(c, line) }
        }
        commit()
    }

    // MARK: output

    private func reply(_ c: Client, _ value: JSONValue) {
        if c.outbox.isEmpty { touched.append(c) }
        value.write(into: &c.outbox)
        c.outbox.append(UInt8(ascii: "\n"))
    }

    /// Journals the batch's records (fdatasync), then sends every answer it held back.
    private func commit() {
        if !records.isEmpty {
            do {
                try journal.write(records)
            } catch {
                note("\(journal.path): cannot journal: \(error); stopping without answering")
                onJournalFailure("\(error)")
                return
            }
            records.removeAll(keepingCapacity: true)
        }
        let batch = touched
        touched.removeAll(keepingCapacity: true)
        for c in batch where !c.outbox.isEmpty {
            let bytes = c.outbox
            c.outbox.removeAll(keepingCapacity: true)
            c.connection.send(bytes)
        }
    }

    private func error(_ reason: VenueRejection, _ detail: String) -> JSONValue {
        refused += 1
        return .object(["v": .int(VenueProtocol.version), "type": "error", "reason": .string(reason.rawValue), "detail": .string(detail)])
    }

    private func rejected(_ id: String, _ reason: VenueRejection, _ detail: String, request: String) -> JSONValue {
        .object([
            "v": .int(VenueProtocol.version), "type": "rejected", "request": .string(request), "client_order_id": .string(id),
            "reason": .string(reason.rawValue), "detail": .string(detail),
        ])
    }
}
