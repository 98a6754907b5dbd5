import NIOCore
import NIOHTTP1

/// Answers one HTTP/1.1 connection of a Prometheus scraper, after NIO's HTTP codec.
///
/// ```
/// GET /metrics          -> 200, the exposition (text/plain; version=0.0.4)
/// HEAD, POST… /metrics  -> 405, Allow: GET
/// anything else         -> 404
/// ```
/// A query string is ignored (`/metrics?x=1` is `/metrics`); a request body is read and dropped.
/// Keep-alive is honoured the way the client asks. `exposition` is called on the server's own
/// event loop thread for each GET, so it must be thread-safe (swift-prometheus registries are).
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let path = "/metrics"
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let exposition: @Sendable () -> [UInt8]
    private var request: HTTPRequestHead?

    init(exposition: @escaping @Sendable () -> [UInt8]) {
        self.exposition = exposition
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        var headers = HTTPHeaders()
        let body: [UInt8]
        if path != Self.path {
            status = .notFound
            body = Array("not found; the metrics are at GET \(Self.path)\n".utf8)
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else if head.method != .GET {
            status = .methodNotAllowed
            body = Array("method not allowed; use GET\n".utf8)
            headers.add(name: "Allow", value: "GET")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else {
            status = .ok
            body = exposition()
            headers.add(name: "Content-Type", value: Self.contentType)
        }
        headers.add(name: "Content-Length", value: String(body.count))
        let keepAlive = head.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
