import Logging
import Prometheus

/// A process's metrics: its one registry, its process metrics, and the `/metrics` server when the
/// configuration gives it a port.
///
/// Create it at start (metrics are recorded whether or not they are served), then call `serve` once
/// the process is committed to running and `shutdown` after its reactor returns.
///
/// A port that cannot be bound (taken by another program, or by a previous run of this market that
/// has not ended yet) is logged as one line and the process runs without `/metrics`: losing the
/// metrics of a worker is better than losing the worker, and Prometheus reports the target down
/// (`up == 0`), which is what an operator's alert on scrape failures catches.
public final class MetricsEndpoint {
    public let registry = PrometheusCollectorRegistry()
    private let process: ProcessMetrics
    public private(set) var server: MetricsServer?

    public init() {
        process = ProcessMetrics(registry: registry)
    }

    /// Serves `/metrics` on `host:port`; logs the address, or why it could not. Returns whether it serves.
    @discardableResult
    public func serve(host: String, port: Int, logger: Logger) -> Bool {
        let process = self.process
        do {
            let server = try MetricsServer.start(host: host, port: port, registry: registry, beforeScrape: { process.refresh() })
            self.server = server
            logger.info("metrics at http://\(Self.authority(host, server.port))/metrics", metadata: ["event": "METRICS_SERVING"])
            return true
        } catch {
            logger.warning("\(error); running without metrics", metadata: ["event": "METRICS_UNAVAILABLE"])
            return false
        }
    }

    /// Stops the server, if any.
    public func shutdown() {
        server?.shutdown()
        server = nil
    }

    static func authority(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
