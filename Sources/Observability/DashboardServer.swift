import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// The watchdog's live status page (docs/watchdog.md, "Dashboard"): an HTTP/1.1 server of the same
/// kind as `/metrics` (SwiftNIO, one event-loop thread of its own, never the reactor), serving the
/// embedded page, `/api/status`, `/api/health`, `/api/supervisor` and the `/api/stream` event
/// stream from a `StatusFeed` the reactor publishes to.
///
/// Each connection's write buffer has a high-water mark of 256 KiB: above it the connection is not
/// writable and stream updates to it are dropped and counted; with the kernel's send buffer fixed
/// at 128 KiB (256 KiB as the kernel counts it), a stalled browser costs at most about 512 KiB.
public final class DashboardServer: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var detail: String
        public var description: String { "cannot serve the dashboard on \(host):\(port): \(detail)" }
    }

    public let host: String
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let task: RepeatedTask

    private init(host: String, port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel, task: RepeatedTask) {
        self.host = host
        self.port = port
        self.group = group
        self.channel = channel
        self.task = task
    }

    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 64 * 1024, high: 256 * 1024)

    /// Binds `host:port` and serves `feed`. `token`: the bearer token every request must carry (nil: none).
    public static func start(
        host: String, port: Int, feed: StatusFeed, token: String?, registry: PrometheusCollectorRegistry, pid: Int32
    ) throws(Failure) -> DashboardServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let streams = DashboardStreams(eventLoop: loop, feed: feed, registry: registry)
        let shared = DashboardHTTPHandler.Shared(
            feed: feed, streams: streams, token: token, registry: registry, pid: pid, hostname: Self.hostname(), staleAfterSeconds: 5)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DashboardHTTPHandler(shared: shared))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            // A fixed kernel send buffer (no autotuning up to megabytes): a stalled reader holds at
            // most this (doubled by the kernel) plus the write buffer's high-water mark.
            .childChannelOption(.socketOption(.so_sndbuf), value: 128 * 1024)
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            let bound = channel.localAddress?.port ?? port
            let task = try loop.submit { streams.start() }.wait()
            return DashboardServer(host: host, port: bound, group: group, channel: channel, task: task)
        } catch {
            try? group.syncShutdownGracefully()
            let detail = (error as? IOError).map { $0.errnoCode == 98 ? "the port is already in use (EADDRINUSE)" : "\($0)" } ?? "\(error)"
            throw Failure(host: host, port: port, detail: detail)
        }
    }

    static func hostname() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        guard buffer.withUnsafeMutableBytes({ gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), 255) }) == 0 else {
            return ""
        }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Closes the listening socket and every connection, and stops the server's thread.
    public func shutdown() {
        task.cancel()
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}
