import NIOCore
import Prometheus

/// The dashboard's open event streams, on the dashboard server's one event-loop thread (never the
/// reactor's). Every 100 ms it looks at the `StatusFeed`; a new version is rendered once and
/// offered to each client through its `StreamOutbox`: written when the client's connection is
/// writable, else dropped and counted (`robot_dashboard_updates_dropped_total`), and the latest
/// one written when the connection drains. Nothing is rendered while no stream is open.
final class DashboardStreams: @unchecked Sendable {
    /// One open stream: how to write to it and what it is owed.
    final class Client {
        let write: (ByteBuffer) -> Void
        let isWritable: () -> Bool
        var status = StreamOutbox()
        var supervisor = StreamOutbox()
        init(write: @escaping (ByteBuffer) -> Void, isWritable: @escaping () -> Bool) {
            self.write = write
            self.isWritable = isWritable
        }
    }

    /// More open streams than this are answered 503: each one holds a connection and its buffer.
    static let maxClients = 64

    let eventLoop: any EventLoop
    private let feed: StatusFeed
    private var clients: [ObjectIdentifier: Client] = [:]
    private let clientsGauge: Gauge
    private let dropped: Counter
    private let allocator = ByteBufferAllocator()

    init(eventLoop: any EventLoop, feed: StatusFeed, registry: PrometheusCollectorRegistry) {
        self.eventLoop = eventLoop
        self.feed = feed
        clientsGauge = registry.gauge(.dashboardStreamClients)
        dropped = registry.counter(.dashboardUpdatesDropped)
    }

    var count: Int { clients.count }

    /// Starts looking at the feed every 100 ms.
    func start() -> RepeatedTask {
        eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in self.tick() }
    }

    /// Adds a stream whose response head is written; it gets the current documents at once.
    func add(_ client: Client) -> Bool {
        eventLoop.assertInEventLoop()
        guard clients.count < Self.maxClients else { return false }
        clients[ObjectIdentifier(client)] = client
        clientsGauge.set(to: Double(clients.count))
        feed.setStreamClients(clients.count)
        client.write(frame(raw: "retry: 1000"))
        offer(to: client)
        return true
    }

    func remove(_ client: Client) {
        eventLoop.assertInEventLoop()
        clients.removeValue(forKey: ObjectIdentifier(client))
        clientsGauge.set(to: Double(clients.count))
        feed.setStreamClients(clients.count)
    }

    /// The client's connection drained: it gets the latest documents it missed.
    func drained(_ client: Client) {
        eventLoop.assertInEventLoop()
        if client.status.owed, let doc = feed.latest(), case .send = client.status.drained(latest: doc.version) {
            client.write(frame(event: "status", doc))
        }
        if client.supervisor.owed, let doc = feed.supervisor(), case .send = client.supervisor.drained(latest: doc.version) {
            client.write(frame(event: "supervisor", doc))
        }
    }

    private func tick() {
        guard !clients.isEmpty else { return }
        for client in clients.values { offer(to: client) }
    }

    private func offer(to client: Client) {
        if let doc = feed.latest() {
            switch client.status.offer(doc.version, writable: client.isWritable()) {
            case .send: client.write(frame(event: "status", doc))
            case .drop: dropped.increment()
            case .none: break
            }
        }
        if let doc = feed.supervisor() {
            switch client.supervisor.offer(doc.version, writable: client.isWritable()) {
            case .send: client.write(frame(event: "supervisor", doc))
            case .drop: dropped.increment()
            case .none: break
            }
        }
    }

    /// `event: NAME\nid: VERSION\ndata: JSON\n\n` (the JSON has no raw newline: encoders escape them).
    private func frame(event: String, _ doc: StatusFeed.Document) -> ByteBuffer {
        var b = allocator.buffer(capacity: doc.bytes.count + 48)
        b.writeString("event: \(event)\nid: \(doc.version)\ndata: ")
        b.writeBytes(doc.bytes.lazy.filter { $0 != 0x0A && $0 != 0x0D })
        b.writeString("\n\n")
        return b
    }

    private func frame(raw: String) -> ByteBuffer {
        var b = allocator.buffer(capacity: raw.utf8.count + 2)
        b.writeString(raw + "\n\n")
        return b
    }
}
