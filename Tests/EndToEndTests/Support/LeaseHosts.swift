import Foundation
import Platform
import TestSupport
import Wire

/// Stacks that play hosts of one account against one PostgreSQL lease (docs/MULTIHOST.md): each a
/// `TestHome` of its own (its own lock folder, host-wide guard folder and journal), with its own
/// `guard.host`, and the same account and database.
final class LeaseHosts: @unchecked Sendable {
    let pg: PostgresCluster
    let homes: [TestHome]
    let names: [String]
    let leaseSeconds: Double

    /// Host `i`'s ES worker serves /metrics on `metricsPorts[i]`, when given.
    private(set) var metricsPorts: [Int] = []

    init(
        count: Int, leaseSeconds: Double = 2, markets: [String] = ["ES"], url: String? = nil, supervised: Bool = false,
        metrics: Bool = false
    ) throws {
        pg = try PostgresCluster()
        try pg.start()
        self.leaseSeconds = leaseSeconds
        names = (0..<count).map { "host-\(Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))))" }
        var homes: [TestHome] = []
        for name in names {
            let home = try TestHome()
            var config = Self.config(name: name, url: url ?? pg.url, passwordFile: pg.passwordFile, lease: leaseSeconds, markets: markets)
            if metrics {
                let port = try MetricsProbe.freePort()
                metricsPorts.append(port)
                config.extraSections["metrics"] = "{\"worker_ports\": {\"ES\": \(port)}}"
            }
            try home.writeConfig(supervised ? config.supervised() : config)
            homes.append(home)
        }
        self.homes = homes
    }

    static func config(name: String, url: String, passwordFile: String, lease: Double, markets: [String]) -> TestConfig {
        var c = TestConfig()
        c.markets = c.markets.filter { markets.contains($0.key) }
        c.extraSections["guard"] =
            "{\"backend\": \"postgresql\", \"url\": \"\(url)\", \"password_file\": \"\(passwordFile)\", \"lease_seconds\": \(lease), \"host\": \"\(name)\"}"
        return c
    }

    func cleanup() {
        for home in homes { home.cleanup() }
        pg.stop()
    }

    /// Starts host `i`'s worker of `market`.
    func startWorker(_ i: Int, _ market: String = "ES") throws -> RunningProcess {
        try homes[i].start("robot-worker", ["--market", market], name: "worker-\(market)")
    }

    /// The last `LEASE_STATUS` state host `i`'s run `pid` journaled for `market`.
    func leaseState(_ i: Int, _ market: String = "ES", pid: Int32) -> String? {
        homes[i].events(market, type: .leaseStatus).last { $0.pid == pid && $0.data["state"]?.stringValue != nil }?.data["state"]?
            .stringValue
    }

    /// The mode run `pid` of host `i` is in, from its last SYSTEM_MODE_CHANGE.
    func mode(_ i: Int, _ market: String = "ES", pid: Int32) -> String? {
        homes[i].events(market, type: .systemModeChange).last { $0.pid == pid }?.data["to"]?.stringValue
    }

    /// The first SYSTEM_MODE_CHANGE to AGGRESSIVE of run `pid` at or after `since` (monotonic ns).
    func aggressiveSince(_ i: Int, _ market: String = "ES", pid: Int32, since: Int64) -> Event? {
        homes[i].events(market, type: .systemModeChange).first {
            $0.pid == pid && $0.data["to"]?.stringValue == "AGGRESSIVE" && ($0.data["monotonic_ns"]?.intValue ?? 0) >= since
        }
    }

    /// Everything host `i` journaled for `market`, one line each (for a failing test's message).
    func describe(_ market: String = "ES") -> String {
        homes.enumerated().map { i, h in
            "\(names[i]): "
                + h.events(market).suffix(12).map {
                    "\($0.type)[\($0.pid) f\($0.fence)]\($0.data["state"]?.stringValue ?? $0.data["to"]?.stringValue ?? "")"
                }
                .joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// Places a SIM limit order on host `i`; the CLI's exit status and output.
    func order(_ i: Int, _ market: String = "ES") throws -> RunningProcess {
        try homes[i].start("robot-worker", ["order", "--market", market, "--side", "buy", "--qty", "1", "--limit", "1"], name: "order")
    }
}
