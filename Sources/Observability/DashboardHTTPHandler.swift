import NIOCore
import NIOHTTP1
import Prometheus
import Wire

/// Answers one HTTP/1.1 connection to the watchdog's dashboard, after NIO's HTTP codec, on the
/// dashboard server's thread. Routes: `DashboardRoute`. Every answer carries a strict
/// Content-Security-Policy (scripts and styles from this origin only, no inline script), `nosniff`,
/// `no-store` and `DENY` framing. `/api/stream` keeps the connection as a server-sent event stream
/// (`DashboardStreams`).
final class DashboardHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Shared: Sendable {
        let feed: StatusFeed
        let streams: DashboardStreams
        let token: String?
        let registry: PrometheusCollectorRegistry
        let pid: Int32
        let hostname: String
        /// The reactor publishes at least once a second; /api/health fails after this long without.
        let staleAfterSeconds: Double
    }

    private let shared: Shared
    private var request: HTTPRequestHead?
    private var stream: DashboardStreams.Client?

    init(shared: Shared) { self.shared = shared }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request, stream == nil else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let stream, context.channel.isWritable { shared.streams.drained(stream) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let stream { shared.streams.remove(stream) }
        stream = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let route = DashboardRoute.decide(
            method: head.method.rawValue, uri: head.uri, authorization: head.headers.first(name: "Authorization"), token: shared.token)
        switch route {
        case .page: send(.ok, DashboardPage.html, type: "text/html; charset=utf-8", head, context)
        case .stylesheet: send(.ok, DashboardPage.css, type: "text/css; charset=utf-8", head, context)
        case .script: send(.ok, DashboardPage.script, type: "text/javascript; charset=utf-8", head, context)
        case .status:
            if let doc = shared.feed.latest() {
                send(.ok, doc.bytes, type: "application/json", head, context)
            } else {
                send(
                    .serviceUnavailable, json(["error": "the watchdog has not published its status yet"]), type: "application/json", head,
                    context)
            }
        case .health:
            let age = shared.feed.publishAge()
            let live = age.map { $0 < shared.staleAfterSeconds } ?? false
            let body =
                #"{"status":"\#(live ? "ok" : "stale")","watchdog_pid":\#(shared.pid),"status_age_seconds":\#(age.map { String(format3($0)) } ?? "null"),"#
                + #""stream_clients":\#(shared.streams.count),"hostname":\#(JSONValue.string(shared.hostname).jsonText)}"#
            send(live ? .ok : .serviceUnavailable, Array(body.utf8), type: "application/json", head, context)
        case .supervisor:
            if let doc = shared.feed.supervisor() {
                send(.ok, doc.bytes, type: "application/json", head, context)
            } else {
                send(
                    .serviceUnavailable, json(["error": "the supervisor's status has not been fetched yet"]), type: "application/json",
                    head, context)
            }
        case .stream: openStream(head, context)
        case .unauthorized:
            var extra = HTTPHeaders()
            extra.add(name: "WWW-Authenticate", value: #"Bearer realm="robot watchdog""#)
            send(
                .unauthorized, Array("unauthorized: send Authorization: Bearer <the token in dashboard.token_file>\n".utf8),
                type: "text/plain; charset=utf-8",
                head, context, extra: extra)
        case .methodNotAllowed:
            var extra = HTTPHeaders()
            extra.add(name: "Allow", value: "GET")
            send(
                .methodNotAllowed, Array("method not allowed; the dashboard is read-only: use GET\n".utf8),
                type: "text/plain; charset=utf-8", head, context,
                extra: extra)
        case .notFound:
            send(.notFound, Array("not found; the dashboard is at /\n".utf8), type: "text/plain; charset=utf-8", head, context)
        }
    }

    private func openStream(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        let channel = context.channel
        let client = DashboardStreams.Client(
            write: { [weak self] buffer in
                guard let self else { return }
                context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            },
            isWritable: { channel.isWritable })
        guard shared.streams.count < DashboardStreams.maxClients else {
            send(
                .serviceUnavailable, Array("too many open streams (at most \(DashboardStreams.maxClients))\n".utf8),
                type: "text/plain; charset=utf-8", head,
                context)
            return
        }
        count(.ok)
        var headers = securityHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "Connection", value: "keep-alive")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        stream = client
        _ = shared.streams.add(client)
        context.flush()
    }

    private func send(
        _ status: HTTPResponseStatus, _ body: [UInt8], type: String, _ head: HTTPRequestHead, _ context: ChannelHandlerContext,
        extra: HTTPHeaders = HTTPHeaders()
    ) {
        count(status)
        var headers = securityHeaders()
        headers.add(contentsOf: extra)
        headers.add(name: "Content-Type", value: type)
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

    private func securityHeaders() -> HTTPHeaders {
        var h = HTTPHeaders()
        h.add(
            name: "Content-Security-Policy",
            value:
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        h.add(name: "X-Content-Type-Options", value: "nosniff")
        h.add(name: "X-Frame-Options", value: "DENY")
        h.add(name: "Referrer-Policy", value: "no-referrer")
        h.add(name: "Cache-Control", value: "no-store")
        return h
    }

    private func count(_ status: HTTPResponseStatus) {
        shared.registry.counter(.dashboardRequests, [("code", String(status.code))]).increment()
    }

    private func json(_ object: [String: String]) -> [UInt8] {
        let members = object.sorted { $0.key < $1.key }.map {
            JSONValue.string($0.key).jsonText + ":" + JSONValue.string($0.value).jsonText
        }
        return Array(("{" + members.joined(separator: ",") + "}").utf8)
    }

    private func format3(_ d: Double) -> String { String(Double(Int(d * 1000)) / 1000) }
}
