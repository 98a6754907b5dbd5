import Platform
import Wire

/// The `venue` section (docs/CONFIG.md, "venue"): where each market's orders go, the paper venue's
/// addresses and state, the account's capital and the reconciliation interval. Absent: every
/// market uses the in-process SIM venue, as before.
public struct VenueSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The in-process simulation inside the worker (the default).
        case sim
        /// The `paper-venue` program, over its socket.
        case paper
    }

    /// How a worker reaches the paper venue.
    public enum Transport: String, Sendable, Equatable {
        case unix
        case tcp
    }

    /// The venue of every market not named in `markets`.
    public var kind: Kind = .sim
    /// Canonical market -> its venue, overriding `kind`.
    public var markets: [String: Kind] = [:]
    /// The paper venue's Unix socket (default `socket_dir/paper-venue.sock`).
    public var socket: String
    /// The paper venue's TCP address on loopback (`127.0.0.1:9470`); nil: no TCP listener.
    public var tcpHost: String?
    public var tcpPort: Int?
    /// How workers connect: `unix` (default) or `tcp` (needs `address`).
    public var transport: Transport = .unix
    /// The paper venue's folder: its journal and its TCP token (default `state_dir/paper-venue`).
    public var stateDir: String
    /// The file holding the token a TCP client must present (default `state_dir/token`).
    public var tokenFile: String
    /// The account's allocated capital, in price units x quantity (the capital ledger).
    public var capital: Double = 10_000_000
    /// How often a running worker reconciles with its venue.
    public var reconcileIntervalSeconds: Double = 60
    /// How long a worker waits for the venue's first reconciliation before it says READY anyway
    /// (in OBSERVE_ONLY, with the reason).
    public var startWaitSeconds: Double = 2
    /// Whether `supervisor run` starts `paper-venue` itself when a market uses it (default true);
    /// false when the operator runs the venue elsewhere (its own unit, another host).
    public var supervised = true

    public init(paths: Paths) {
        socket = paths.socketDir + "/paper-venue.sock"
        stateDir = paths.stateDir + "/paper-venue"
        tokenFile = stateDir + "/token"
    }

    /// The venue of `market`.
    public func kind(of market: String) -> Kind { markets[market] ?? kind }

    /// Whether any market uses the paper venue.
    public var usesPaper: Bool { kind == .paper || markets.values.contains(.paper) }

    /// Whether the supervisor runs the paper venue as a child: a market uses it and `supervised` is not false.
    public var supervisedBySupervisor: Bool { usesPaper && supervised }

    static let keys = [
        "kind", "markets", "socket", "address", "transport", "state_dir", "token_file", "capital", "reconcile_interval_seconds",
        "start_wait_seconds", "supervised",
    ]

    static func parse(_ top: inout ConfigReader, paths: Paths, markets: [String: MarketSpec], home: String) throws(ConfigError)
        -> VenueSettings
    {
        var s = VenueSettings(paths: paths)
        guard var r = try top.optionalObject("venue") else { return s }
        func kind(_ reader: ConfigReader, _ key: String, _ v: JSONValue) throws(ConfigError) -> Kind {
            guard case .string(let text) = v, let k = Kind(rawValue: text) else {
                throw reader.error(key, v, "expected \"sim\" or \"paper\"")
            }
            return k
        }
        if let v = r.optional("kind") { s.kind = try kind(r, "kind", v) }
        if var m = try r.optionalObject("markets") {
            for (name, value) in m.members() {
                _ = m.optional(name)
                guard markets[name] != nil else {
                    throw m.error(
                        name, value, "\(name) is not a configured market; configured: \(markets.keys.sorted().joined(separator: ", "))")
                }
                s.markets[name] = try kind(m, name, value)
            }
        }
        func path(_ key: String, _ fallback: String) throws(ConfigError) -> String {
            let raw = try r.optionalString(key, default: fallback)
            guard !raw.isEmpty, !raw.utf8.contains(0) else { throw r.error(key, .string(raw), "expected a path") }
            return ConfigLoader.normalize(raw.hasPrefix("/") ? raw : home + "/" + raw)
        }
        s.socket = try path("socket", s.socket)
        if s.socket.utf8.count > UnixSocket.maxPathBytes {
            throw r.error("socket", .string(s.socket), "too long for a Unix socket path (at most \(UnixSocket.maxPathBytes) bytes)")
        }
        s.stateDir = try path("state_dir", s.stateDir)
        s.tokenFile = try path("token_file", s.stateDir + "/token")
        if let v = r.optional("address") {
            guard case .string(let text) = v, let (host, port) = Self.loopbackAddress(text) else {
                throw r.error(
                    "address", v, "expected a loopback address and port, \"127.0.0.1:9470\" (the paper venue listens on loopback only)")
            }
            s.tcpHost = host
            s.tcpPort = port
        }
        let transport = try r.optionalString("transport", default: "unix")
        guard let t = Transport(rawValue: transport) else { throw r.error("transport", .string(transport), "expected \"unix\" or \"tcp\"") }
        if t == .tcp, s.tcpHost == nil {
            throw r.error("transport", .string(transport), "tcp needs venue.address (\"127.0.0.1:9470\")")
        }
        s.transport = t
        s.capital = try r.number("capital", default: s.capital, in: 0...1e15)
        s.reconcileIntervalSeconds = try r.number("reconcile_interval_seconds", default: s.reconcileIntervalSeconds, in: 0.05...86_400)
        s.startWaitSeconds = try r.number("start_wait_seconds", default: s.startWaitSeconds, in: 0...60)
        s.supervised = try r.optionalBool("supervised", default: true)
        try r.rejectUnknownKeys(keys)
        return s
    }

    /// `127.0.0.1:PORT` (or another 127.x.y.z address): host and port, else nil.
    static func loopbackAddress(_ text: String) -> (String, Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = Int(parts[1]), (1...65_535).contains(port) else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127", octets.allSatisfy({ UInt8($0) != nil }) else { return nil }
        return (String(parts[0]), port)
    }
}
