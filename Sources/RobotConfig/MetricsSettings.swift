/// The `metrics` section: where each process serves Prometheus `/metrics` (docs/CONFIG.md,
/// docs/METRICS.md). Absent, or a process without a port: that process serves no metrics.
///
/// ```json
/// "metrics": {"host": "127.0.0.1", "watchdog_port": 9400, "supervisor_port": 9401, "worker_ports": {"ES": 9410, "NQ": 9411}}
/// ```
/// The host must be a loopback address (127.0.0.0/8 or ::1): the endpoint has no authentication,
/// so it is never exposed beyond the host; a Prometheus elsewhere scrapes through an agent or proxy.
/// Every port is used once, and `worker_ports` names configured markets only.
public struct MetricsSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var watchdogPort: Int?
    public var supervisorPort: Int?
    /// Canonical market -> its worker's port.
    public var workerPorts: [String: Int] = [:]

    public init() {}

    /// True when no process serves metrics.
    public var isOff: Bool { watchdogPort == nil && supervisorPort == nil && workerPorts.isEmpty }

    static let keys = ["host", "watchdog_port", "supervisor_port", "worker_ports"]

    static func parse(_ top: inout ConfigReader, markets: [String: MarketSpec]) throws(ConfigError) -> MetricsSettings {
        var s = MetricsSettings()
        guard var r = try top.optionalObject("metrics") else { return s }
        s.host = try r.optionalString("host", default: s.host)
        guard isLoopback(s.host) else {
            throw r.error(
                "host", .string(s.host),
                "expected a loopback address (127.0.0.1, another 127.x.y.z, or ::1): /metrics has no authentication and stays on this host")
        }
        var seen: [Int: String] = [:]
        func port(_ reader: inout ConfigReader, _ key: String, _ name: String) throws(ConfigError) -> Int? {
            guard reader.optional(key) != nil else { return nil }
            let p = try reader.integer(key, default: 0, in: 1...65535)
            if let other = seen[p] {
                throw reader.error(key, .int(Int64(p)), "port \(p) is already the \(other)'s; give every process its own port")
            }
            seen[p] = name
            return p
        }
        s.watchdogPort = try port(&r, "watchdog_port", "watchdog")
        s.supervisorPort = try port(&r, "supervisor_port", "supervisor")
        if var w = try r.optionalObject("worker_ports") {
            for (market, _) in w.members().sorted(by: { $0.key < $1.key }) {
                guard markets[market] != nil else {
                    throw w.error(
                        market, nil,
                        "\(market) is not a configured market; expected one of: " + markets.keys.sorted().joined(separator: ", "))
                }
                s.workerPorts[market] = try port(&w, market, "\(market) worker")
            }
        }
        try r.rejectUnknownKeys(keys)
        return s
    }

    /// 127.0.0.0/8 as a dotted quad, or ::1.
    static func isLoopback(_ host: String) -> Bool {
        if host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in p.count <= 3 && !p.isEmpty && p.allSatisfy(\.isASCII) && UInt8(p) != nil }
    }
}
