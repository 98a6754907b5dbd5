import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// The `/metrics` endpoint of one process: an HTTP/1.1 server on a loopback address, on its own
/// one-thread NIO event loop group, answering `GET /metrics` with the registry's exposition.
///
/// Use one per process, started after the process is committed to running (a worker starts it once
/// it holds its market's lock, so a refused worker never takes the port). The reactor thread only
/// updates metrics, which swift-prometheus makes thread-safe; a scrape runs entirely on the
/// server's thread and never waits for the reactor, so a hung reactor still answers scrapes (and
/// its `WATCHDOG=1` stops, which is what catches the hang).
///
/// `start` throws `MetricsServer.Failure` when the address cannot be bound (the port is taken, the
/// address is not local); the caller decides what that means. `shutdown()` closes the listening
/// socket and stops the thread; call it once, after the reactor has returned.
public final class MetricsServer: Sendable {
    /// Why the server could not start.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var detail: String
        public var description: String { "cannot serve metrics on \(host):\(port): \(detail)" }
    }

    public let host: String
    /// The bound port (the asked port, or the one the kernel chose for port 0).
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    private init(host: String, port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.host = host
        self.port = port
        self.group = group
        self.channel = channel
    }

    /// Binds `host:port` and serves `registry`. `beforeScrape` runs on the server's thread before
    /// each exposition (to refresh process metrics). Blocks the caller only for the bind.
    public static func start(
        host: String, port: Int, registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void = {}
    ) throws(Failure) -> MetricsServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let exposition: @Sendable () -> [UInt8] = {
            beforeScrape()
            return registry.emitToBuffer()
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(exposition: exposition))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            let bound = channel.localAddress?.port ?? port
            return MetricsServer(host: host, port: bound, group: group, channel: channel)
        } catch {
            try? group.syncShutdownGracefully()
            throw Failure(host: host, port: port, detail: Self.describe(error))
        }
    }

    /// Closes the listening socket and every connection, and stops the server's thread.
    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            return io.errnoCode == 98 ? "the port is already in use (EADDRINUSE)" : "\(io)"
        }
        return "\(error)"
    }
}
