import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// What the control server sees of the supervisor and may ask of it: nothing more. The supervisor
/// carries out every change; the server only parses, checks permission, waits and answers.
protocol ControlledSupervisor: AnyObject {
    /// Monotonic seconds, the machines' clock.
    func now() -> Double
    /// The running configuration (instrument map, configured markets, supervisor settings).
    var configuration: Configuration { get }
    var isShuttingDown: Bool { get }
    /// READY=1 was sent (or would be) upstream.
    var isReady: Bool { get }
    var unknownNotifyDatagrams: Int { get }
    /// Every market with a machine, removed ones still stopping included.
    var supervisedMarkets: [String] { get }
    /// `market`'s machine, and whether a reload is removing it; nil when it has none.
    func machine(of market: String) -> (machine: MarketSupervisor, removing: Bool)?
    /// When an operator stopped `market` (UTC), while that stop holds (`OperatorStops`).
    func stoppedByOperatorSince(_ market: String) -> String?
    /// `3/3 running`, or `2/3 running; CL FATAL`.
    func summary() -> String
    /// An operator asked to start, stop or restart `market` (a supervised one).
    func operatorAsked(_ command: ControlRequest.Command, market: String)
    /// Re-reads the configuration (see `Supervisor.reload`).
    func reload(requestedBy who: String) -> ReloadOutcome
}

/// What a reload did.
enum ReloadOutcome {
    /// Shutting down: nothing was done.
    case ignored
    /// The configuration did not load; the running one is kept.
    case refused(String)
    case reloaded(added: [String], removed: [String], settings: SupervisorSettings)
}

/// A request that is answered when the markets it changed get where they were asked to go, or at
/// its deadline.
final class Waiter {
    /// The connection to answer (its fd).
    let connection: Int32
    /// The answer once the change is done or failed, nil while it is under way.
    let check: () -> ControlResponse?
    /// The answer at the deadline.
    let timedOut: () -> ControlResponse
    var timer: Reactor.TimerID?

    init(connection: Int32, check: @escaping () -> ControlResponse?, timedOut: @escaping () -> ControlResponse) {
        self.connection = connection
        self.check = check
        self.timedOut = timedOut
    }
}

/// The control socket (docs/PROTOCOL.md, "Supervisor control socket"): one JSON request per line,
/// one response line each. State-changing requests only from root or the supervisor's own user.
final class ControlServer {
    /// The supervisor it serves (it owns this server).
    weak var supervisor: (any ControlledSupervisor)?
    private let reactor: Reactor
    private let listenFD: Int32
    let path: String
    private var connections: [Int32: LineConnection] = [:]
    private var waiters: [Waiter] = []
    /// Refused control requests by reason (docs/PROTOCOL.md).
    private var rejectedRequests: [String: Int] = [:]
    private let selfPid = getpid()
    private let selfUid = getuid()

    /// Serves the bound, listening socket `listenFD` at `path`.
    init(reactor: Reactor, listenFD: Int32, path: String) {
        self.reactor = reactor
        self.listenFD = listenFD
        self.path = path
    }

    /// Accepts connections from now on.
    func start() {
        reactor.watch(listenFD) { [unowned self] _ in self.acceptConnections() }
    }

    /// Stops listening and removes the socket file.
    func close() {
        reactor.unwatch(listenFD)
        Glibc.close(listenFD)
        unlink(path)
    }

    private func acceptConnections() {
        while let fd = UnixSocket.accept(listenFD) {
            let connection = LineConnection(fd: fd, reactor: reactor, maxLineBytes: WireFormat.maxLineBytes)
            connections[fd] = connection
            connection.onFrame = { [unowned self, unowned connection] frame in
                switch frame {
                case .line(let bytes): self.handle(Array(bytes), from: connection)
                case .tooLong(let n): self.answer(fd, self.refusal(.lineTooLong, "a request line of \(n) bytes is over the limit"))
                }
            }
            connection.onClose = { [unowned self] _ in
                self.connections[fd] = nil
                for w in self.waiters where w.connection == fd { if let t = w.timer { self.reactor.cancel(t) } }
                self.waiters.removeAll { $0.connection == fd }
            }
        }
    }

    private func handle(_ line: [UInt8], from connection: LineConnection) {
        guard let supervisor else { return }
        let fd = connection.fd
        guard let request = try? WireCoding.decode(ControlRequest.self, from: line) else {
            answer(
                fd,
                refusal(
                    .invalidRequest, "not a request; expected {\"v\":1,\"command\":\"status|start|stop|restart|reload\",\"market\":\"ES\"}")
            )
            return
        }
        if request.command.changesState {
            guard let peer = connection.peer, peer.uid == 0 || peer.uid == selfUid else {
                let who = connection.peer.map { "uid \($0.uid)" } ?? "a peer of unknown uid"
                answer(
                    fd,
                    refusal(
                        .notPermitted,
                        "permission denied: \(who) may only ask for status (\(request.command.rawValue) needs root or uid \(selfUid))"))
                return
            }
            if supervisor.isShuttingDown {
                answer(fd, refusal(.shuttingDown, "the supervisor is shutting down; \(request.command.rawValue) refused"))
                return
            }
        }
        switch request.command {
        case .status:
            answer(fd, response(ok: true, message: supervisor.summary(), markets: supervisor.supervisedMarkets))
        case .reload:
            reload(supervisor, requestedBy: "reload request", answer: fd)
        case .start, .stop, .restart:
            guard let symbol = request.market, !symbol.isEmpty else {
                answer(fd, refusal(.invalidRequest, "\(request.command.rawValue) needs a market"))
                return
            }
            let config = supervisor.configuration
            let market: String
            if symbol == VenueChild.name, supervisor.machine(of: symbol) != nil {
                market = symbol // the paper venue, when the supervisor runs it
            } else {
                do { market = try config.instrumentMap.canonical(of: symbol).name } catch {
                    answer(fd, refusal(.unknownMarket, "\(error)"))
                    return
                }
            }
            guard let slot = supervisor.machine(of: market), !slot.removing else {
                let via = market == symbol.uppercased() ? "" : " (canonical \(market))"
                answer(
                    fd,
                    refusal(
                        .unknownMarket,
                        "unknown market \(symbol.uppercased())\(via); configured: \(config.marketNames.joined(separator: ", "))"))
                return
            }
            change(request.command, market: market, pidBefore: slot.machine.pid, supervisor, fd: fd)
        }
    }

    private func change(
        _ command: ControlRequest.Command, market: String, pidBefore before: Int32?, _ supervisor: any ControlledSupervisor, fd: Int32
    ) {
        let s = supervisor.configuration.supervisor
        supervisor.operatorAsked(command, market: market)
        switch command {
        case .start:
            wait(fd, markets: [market], timeout: s.stopTimeout + s.startTimeout + 1) { [unowned self] in
                self.outcome(market, want: .running, pidOtherThan: nil)
            }
        case .restart:
            wait(fd, markets: [market], timeout: s.stopTimeout + s.startTimeout + 1) { [unowned self] in
                self.outcome(market, want: .running, pidOtherThan: before)
            }
        case .stop:
            wait(fd, markets: [market], timeout: s.stopTimeout + 1) { [unowned self] in
                self.outcome(market, want: .stopped, pidOtherThan: nil)
            }
        case .status, .reload:
            return
        }
    }

    /// Done when `market` is in `want`, failed when it settled elsewhere (or went to BACKOFF after a
    /// failed start), nil while under way.
    private func outcome(_ market: String, want: SupervisionState, pidOtherThan old: Int32?) -> (done: Bool, message: String)? {
        guard let m = supervisor?.machine(of: market)?.machine else { return (false, "\(market) is no longer configured") }
        if m.state == want, old == nil || m.pid != old {
            let pid = m.pid.map { " (pid \($0))" } ?? ""
            let stays =
                want == .stopped && supervisor?.stoppedByOperatorSince(market) != nil
                ? " (stays stopped, across supervisor restarts too, until started)" : ""
            return (true, "\(market): \(want.rawValue)\(pid)\(stays)")
        }
        switch m.state {
        case .starting, .stopping:
            return nil
        case .running where want == .running:
            return nil
        case .running, .backoff, .stopped, .blocked, .fatal:
            let last = m.lastExit.map { "; last run \($0.exit.description) after \(SecondsText.format($0.uptime))" } ?? ""
            let alert = m.alert.map { "; " + $0 } ?? ""
            return (false, "\(market): \(m.state.rawValue), not \(want.rawValue)\(last)\(alert)")
        }
    }

    /// Registers a waiter for `fd` and answers at once if the change is already done.
    private func wait(_ fd: Int32, markets: [String], timeout: Double, _ outcome: @escaping () -> (done: Bool, message: String)?) {
        let waiter = Waiter(
            connection: fd,
            check: { [unowned self] in
                outcome().map { self.response(ok: $0.done, failure: $0.done ? nil : .failed, message: $0.message, markets: markets) }
            },
            timedOut: { [unowned self] in
                let states = markets.map { "\($0) \(self.supervisor?.machine(of: $0)?.machine.state.rawValue ?? "removed")" }
                    .joined(separator: ", ")
                return self.response(
                    ok: false, failure: .failed, message: "timed out after \(SecondsText.format(timeout)): \(states)", markets: markets)
            })
        if let r = waiter.check() {
            answer(fd, r)
            return
        }
        waiter.timer = reactor.schedule(afterSeconds: timeout) { [unowned self, unowned waiter] in
            self.waiters.removeAll { $0 === waiter }
            self.answer(fd, waiter.timedOut())
        }
        waiters.append(waiter)
    }

    /// Answers every waiter whose change is done or failed (the supervisor calls it after each change).
    func checkWaiters() {
        guard !waiters.isEmpty else { return }
        for w in waiters {
            guard let r = w.check() else { continue }
            if let t = w.timer { reactor.cancel(t) }
            waiters.removeAll { $0 === w }
            answer(w.connection, r)
        }
    }

    /// A reload request: answered once every added market is settled and every removed one gone.
    private func reload(_ supervisor: any ControlledSupervisor, requestedBy who: String, answer fd: Int32) {
        switch supervisor.reload(requestedBy: who) {
        case .ignored:
            return
        case .refused(let error):
            answer(fd, response(ok: false, failure: .failed, message: "reload refused, running configuration kept: \(error)", markets: nil))
        case .reloaded(let added, let removed, let s):
            let message = "reloaded; added: \(Self.list(added)), removed: \(Self.list(removed))"
            wait(fd, markets: added + removed, timeout: s.stopTimeout + s.startTimeout + 1) { [unowned self] in
                if removed.contains(where: { self.supervisor?.machine(of: $0) != nil }) { return nil }
                var failures: [String] = []
                for market in added {
                    guard let m = self.supervisor?.machine(of: market)?.machine else { continue }
                    if m.state == .starting || m.state == .stopping { return nil }
                    if m.state != .running { failures.append("\(market) \(m.state.rawValue)") }
                }
                return failures.isEmpty ? (true, message) : (false, message + "; not running: " + failures.joined(separator: ", "))
            }
        }
    }

    static func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: " ") }

    // MARK: responses

    private func answer(_ fd: Int32, _ response: ControlResponse) {
        connections[fd]?.send(WireCoding.line(response))
    }

    /// Why a control request was refused; counted by reason (`rejected` in every response).
    enum RefusalReason: String {
        case invalidRequest = "invalid_request"
        case lineTooLong = "line_too_long"
        case notPermitted = "not_permitted"
        case unknownMarket = "unknown_market"
        case shuttingDown = "shutting_down"
    }

    private func refusal(_ reason: RefusalReason, _ message: String) -> ControlResponse {
        rejectedRequests[reason.rawValue, default: 0] += 1
        return response(ok: false, failure: .refused, reason: reason.rawValue, message: message, markets: nil)
    }

    private func response(
        ok: Bool, failure: ControlResponse.Failure? = nil, reason: String? = nil, message: String, markets: [String]?
    ) -> ControlResponse {
        let t = supervisor?.now() ?? Double(MonotonicClock.nowNanos()) / 1e9
        let wall = UTCTimestamp.nowMicros()
        var rows: [String: MarketStatus]?
        var venue: MarketStatus?
        if let markets {
            venue = supervisor?.machine(of: VenueChild.name).map { Self.status(of: $0.machine, now: t, wallMicros: wall) }
            var r: [String: MarketStatus] = [:]
            for market in markets where market != VenueChild.name {
                guard let m = supervisor?.machine(of: market)?.machine else { continue }
                r[market] = Self.status(of: m, now: t, wallMicros: wall)
                r[market]?.stoppedByOperatorSinceUTC = supervisor?.stoppedByOperatorSince(market)
            }
            rows = r
        }
        return ControlResponse(
            ok: ok, failure: failure, reason: reason, message: message, markets: rows, supervisorPid: selfPid,
            ready: supervisor?.isReady ?? false,
            unknownNotifyDatagrams: supervisor?.unknownNotifyDatagrams ?? 0, rejected: rejectedRequests, venue: venue)
    }

    /// One market's status row; machine times (monotonic) become UTC by their distance from `now`.
    static func status(of m: MarketSupervisor, now: Double, wallMicros: Int64) -> MarketStatus {
        func utc(_ t: Double) -> String { UTCTimestamp.format(micros: wallMicros + Int64(((t - now) * 1e6).rounded())) }
        let last = m.lastExit.map {
            MarketStatus.LastExit(
                description: $0.exit.description, status: $0.exit.exitCode, signal: $0.exit.signal, atUTC: utc($0.at),
                afterSeconds: $0.uptime, reason: $0.reason)
        }
        let live = m.pid != nil
        return MarketStatus(
            state: m.state, pid: m.pid, uptimeSeconds: live ? m.startedAt.map { now - $0 } : nil, restarts: m.restarts, lastExit: last,
            nextRestartUTC: m.state == .backoff ? m.restartAt.map(utc) : nil,
            nextRestartInSeconds: m.state == .backoff ? m.restartAt.map { max(0, $0 - now) } : nil,
            workerStatus: m.workerStatus, alert: m.alert)
    }
}
