import Foundation
import Observability
import Platform
import Synchronization
import Wire

/// Asks the supervisor for its status (`{"v":1,"command":"status"}` on its control socket, as
/// `supervisor status --json` does) once a second while a dashboard stream is open, on a thread of
/// its own (never the reactor, never the dashboard's event loop), with a 0.5 s timeout, and stores
/// the answer line, or `{"error": …}` naming the socket and why, in the `StatusFeed`.
final class SupervisorStatusProbe: Sendable {
    private let path: String
    private let feed: StatusFeed
    private let stopped = Atomic<Bool>(false)
    static let request = Array(#"{"v":1,"command":"status"}"#.utf8)
    static let timeoutSeconds = 0.5

    init(socketPath: String, feed: StatusFeed) {
        path = socketPath
        self.feed = feed
    }

    func start() {
        Thread.detachNewThread { [self] in
            // Looks every 100 ms, so the first stream gets the supervisor's state at once; asks at
            // most once a second.
            var last = Int64.min / 2
            while !stopped.load(ordering: .relaxed) {
                let now = MonotonicClock.nowNanos()
                if feed.streamClients > 0, now - last >= 1_000_000_000 {
                    last = now
                    feed.setSupervisor(fetch())
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    func fetch() -> [UInt8] {
        do {
            let client = try LineClient(path: path)
            try client.send(Self.request)
            let line = try client.readLine(timeoutSeconds: Self.timeoutSeconds)
            guard line.first == UInt8(ascii: "{") else { return Self.error("\(path): an answer that is not a status") }
            return line
        } catch {
            return Self.error("the supervisor is not reachable at \(path): \(error)")
        }
    }

    static func error(_ text: String) -> [UInt8] { Array(#"{"error":\#(JSONValue.string(text).jsonText)}"#.utf8) }
}
