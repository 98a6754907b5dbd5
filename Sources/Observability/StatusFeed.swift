import Platform
import Synchronization

/// The one thing the watchdog's reactor thread hands its dashboard's HTTP thread: the latest
/// status document, behind a `Mutex`, with a version number.
///
/// The reactor `publish`es a renderer (a closure over a `Sendable` copy of its state: copying is a
/// few reference-count increments, so the reactor never encodes JSON for the page) at most every
/// 100-200 ms when its state changed and at least once a second. The HTTP thread calls `latest()`,
/// which renders each version once, outside the lock, and caches the bytes. The lock is held only
/// to swap a few words: the reactor never waits for a render, a socket or a browser.
///
/// The supervisor's status (`supervisor`) is stored the same way by the thread that asks for it.
public final class StatusFeed: Sendable {
    public struct Document: Sendable {
        public var version: UInt64
        public var bytes: [UInt8]
        /// When the reactor published it (monotonic nanoseconds).
        public var publishedAt: Int64
    }

    private struct State {
        var version: UInt64 = 0
        var render: (@Sendable () -> [UInt8])?
        var rendered: Document?
        var publishedAt: Int64 = 0
        var supervisor: Document?
    }

    private let state = Mutex(State())
    private let streams = Atomic<Int>(0)

    /// How many event streams are open (set by the HTTP thread, read by the supervisor probe).
    public var streamClients: Int { streams.load(ordering: .relaxed) }
    func setStreamClients(_ n: Int) { streams.store(n, ordering: .relaxed) }

    public init() {}

    /// The reactor's side: a new document, rendered only when the HTTP side needs it.
    public func publish(_ render: @escaping @Sendable () -> [UInt8]) {
        let now = MonotonicClock.nowNanos()
        state.withLock {
            $0.version &+= 1
            $0.render = render
            $0.publishedAt = now
        }
    }

    /// The HTTP side: the latest document (nil before the first publish). Renders a new version
    /// outside the lock.
    public func latest() -> Document? {
        let (version, render, cached, at) = state.withLock { ($0.version, $0.render, $0.rendered, $0.publishedAt) }
        if let cached, cached.version == version { return cached }
        guard let render else { return nil }
        let document = Document(version: version, bytes: render(), publishedAt: at)
        state.withLock { if $0.version == version { $0.rendered = document } }
        return document
    }

    /// Seconds since the reactor last published (nil before the first): the reactor's liveness.
    public func publishAge(now: Int64 = MonotonicClock.nowNanos()) -> Double? {
        let at = state.withLock { $0.version == 0 ? nil : $0.publishedAt }
        return at.map { Double(now - $0) / 1e9 }
    }

    /// The supervisor's status as last fetched (a `supervisor status --json` line or an error object).
    public func setSupervisor(_ bytes: [UInt8]) {
        let now = MonotonicClock.nowNanos()
        state.withLock {
            let version = ($0.supervisor?.version ?? 0) &+ 1
            $0.supervisor = Document(version: version, bytes: bytes, publishedAt: now)
        }
    }

    public func supervisor() -> Document? { state.withLock { $0.supervisor } }
}
