import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The worker's side of the venue socket (docs/PROTOCOL.md, "The venue socket"): a non-blocking
/// `LineConnection` on the worker's reactor, as the watchdog link is. Says hello with the account,
/// market and fence; requests made while it is not welcomed wait and go out after the welcome (the
/// `OrderDesk` re-sends sent orders too: the venue answers a repeated client order ID with the
/// order it holds). A lost connection is retried after 50 ms, doubling up to 1 s.
public final class PaperVenueClient: ExecutionVenue {
    public let kind = "paper"
    public var onEvent: ((VenueEvent) -> Void)?
    public private(set) var isReachable = false
    public private(set) var problem = "not connected yet"

    public enum Address: Sendable, Equatable {
        case unix(String)
        case tcp(host: String, port: Int)
        public var text: String {
            switch self {
            case .unix(let p): return p
            case .tcp(let h, let p): return "\(h):\(p)"
            }
        }
    }

    private let reactor: Reactor
    private let address: Address
    private let account: String
    private let market: String
    private let runID: String
    private let token: String?
    private var fence: Int64 = 0
    private var connection: LineConnection?
    private var welcomed = false
    private var waiting: [[UInt8]] = []
    private var nextID: Int64 = 0
    private var stateReplies: [Int64: (VenueState?) -> Void] = [:]
    private var backoff = 0.05
    private var started = false

    public init(reactor: Reactor, address: Address, account: String, market: String, runID: String, token: String?) {
        self.reactor = reactor
        self.address = address
        self.account = account
        self.market = market
        self.runID = runID
        self.token = token
    }

    /// The client a configuration names for `market`: the Unix socket, or TCP with the token file's token.
    public static func make(reactor: Reactor, config: Configuration, market: String, runID: String) -> PaperVenueClient {
        let v = config.venue
        if v.transport == .tcp, let host = v.tcpHost, let port = v.tcpPort {
            let token = (try? FileIO.readFile(v.tokenFile, limit: 4096)).flatMap { $0 }.flatMap {
                String(decoding: $0, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init)
            }
            return PaperVenueClient(
                reactor: reactor, address: .tcp(host: host, port: port), account: config.account.name, market: market, runID: runID,
                token: token)
        }
        return PaperVenueClient(
            reactor: reactor, address: .unix(v.socket), account: config.account.name, market: market, runID: runID, token: nil)
    }

    public func start(fence: Int64) {
        self.fence = max(self.fence, fence)
        guard !started else { return }
        started = true
        connect()
    }

    public func place(_ order: VenueOrder) {
        var o = order
        o.account = account
        o.market = market
        fence = max(fence, o.fence)
        send(.object(["v": .int(VenueProtocol.version), "type": "place", "order": o.json]))
    }

    public func cancel(_ clientOrderID: String, fence: Int64) {
        send(
            .object(["v": .int(VenueProtocol.version), "type": "cancel", "client_order_id": .string(clientOrderID), "fence": .int(fence)]))
    }

    public func fetchState(ids: [String], _ reply: @escaping (VenueState?) -> Void) {
        guard isReachable else {
            reply(nil)
            return
        }
        nextID += 1
        stateReplies[nextID] = reply
        send(.object(["v": .int(VenueProtocol.version), "type": "state", "id": .int(nextID), "ids": .strings(ids)]))
    }

    public func tick(price: Double, timeUTC: String) {}

    // MARK: connection

    private func send(_ message: JSONValue) {
        let line = message.ndjsonLine
        if welcomed, let c = connection {
            c.send(line)
        } else {
            waiting.append(line)
        }
    }

    private func connect() {
        let fd: Int32
        do {
            switch address {
            case .unix(let path): fd = try UnixSocket.connect(path: path, nonBlocking: true)
            case .tcp(let host, let port): fd = try LoopbackTCP.connect(host: host, port: port)
            }
        } catch {
            lost("cannot reach the paper venue at \(address.text): \(error)")
            return
        }
        let c = LineConnection(fd: fd, reactor: reactor, maxLineBytes: 64 << 20)
        connection = c
        c.onFrame = { [unowned self] frame in
            if case .line(let bytes) = frame { self.received(bytes) }
        }
        c.onClose = { [unowned self] error in
            self.lost("the paper venue at \(self.address.text) closed the connection\(error.map { ": \($0)" } ?? "")")
        }
        var hello: JSONObject = [
            "v": .int(VenueProtocol.version), "type": "hello", "account": .string(account), "market": .string(market), "fence": .int(fence),
            "run_id": .string(runID),
        ]
        if let token { hello["token"] = .string(token) }
        c.send(JSONValue.object(hello).ndjsonLine)
    }

    private func lost(_ why: String) {
        connection = nil
        let wasReachable = isReachable || problem != why
        welcomed = false
        isReachable = false
        problem = why
        let replies = stateReplies
        stateReplies = [:]
        for (_, r) in replies.sorted(by: { $0.key < $1.key }) { r(nil) }
        if wasReachable { onEvent?(.disconnected(why)) }
        let wait = backoff
        backoff = min(backoff * 2, 1)
        reactor.schedule(afterSeconds: wait) { [weak self] in self?.connect() }
    }

    private func received(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard case .object(let o)? = try? JSONParser.parse(bytes) else { return }
        switch o["type"]?.stringValue {
        case "welcome":
            welcomed = true
            isReachable = true
            problem = ""
            backoff = 0.05
            let queued = waiting
            waiting = []
            for line in queued { connection?.send(line) }
            onEvent?(.connected(highWater: o["fence_high_water"]?.intValue ?? 0))
        case "accepted":
            if let order = VenueOrder(o["order"]) { onEvent?(.accepted(order, duplicate: o["duplicate"]?.boolValue ?? false)) }
        case "rejected":
            onEvent?(
                .rejected(
                    clientOrderID: o["client_order_id"]?.stringValue ?? "", reason: o["reason"]?.stringValue ?? "?",
                    detail: o["detail"]?.stringValue ?? "", cancel: o["request"]?.stringValue == "cancel"))
        case "cancelled":
            if let order = VenueOrder(o["order"]) { onEvent?(.cancelled(order)) }
        case "fill":
            if let order = VenueOrder(o["order"]), let p = VenuePosition(o["position"]) { onEvent?(.filled(order, p)) }
        case "state":
            guard let id = o["id"]?.intValue, let reply = stateReplies.removeValue(forKey: id) else { return }
            let orders = (o["orders"]?.arrayValue ?? []).compactMap { VenueOrder($0) }
            let positions = (o["positions"]?.arrayValue ?? []).compactMap { VenuePosition($0) }
            reply(VenueState(orders: orders, positions: positions))
        case "error":
            let why = "the paper venue refused: \(o["reason"]?.stringValue ?? "?"): \(o["detail"]?.stringValue ?? "")"
            if !welcomed {
                problem = why
                connection?.close()
            } else {
                Worker.note("\(market): \(why)", .warning)
            }
        default:
            return
        }
    }
}
