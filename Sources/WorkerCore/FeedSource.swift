import Platform
import RobotConfig
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Delivers a market's ticks to its engine on the worker's reactor, from the feed its
/// configuration names (`FeedSpec`). A feed that stalls, closes or cannot be opened is a condition
/// the engine reports (`FEED_STATUS`, then health and the fail-safe), never a crash: file and
/// socket feeds keep retrying.
final class FeedSource {
    private let spec: FeedSpec
    private let reactor: Reactor
    private let instruments: Set<String>
    private let onTick: (Tick) -> Void
    private let onStatus: (Bool, String) -> Void
    private let onBadLine: (String) -> Void
    private var synthetic: SyntheticFeed?
    private var fileFD: Int32 = -1
    private var framer = LineFramer()
    private var connection: LineConnection?
    private var loggedBadLine = false

    /// `instruments`: the canonical and execution instrument; ticks for anything else are counted as errors.
    init(
        spec: FeedSpec, reactor: Reactor, instruments: Set<String>, onTick: @escaping (Tick) -> Void,
        onStatus: @escaping (Bool, String) -> Void, onBadLine: @escaping (String) -> Void
    ) {
        self.spec = spec
        self.reactor = reactor
        self.instruments = instruments
        self.onTick = onTick
        self.onStatus = onStatus
        self.onBadLine = onBadLine
    }

    deinit { if fileFD >= 0 { close(fileFD) } }

    /// Whether the feed can be reached now (the `feed_reachable` startup check).
    static func probe(_ spec: FeedSpec) -> StartupChecks.Result {
        switch spec {
        case .synthetic(let rate, let seed, _, _):
            return StartupChecks.Result(name: StartupChecks.feedReachable, passed: true, detail: "synthetic feed, \(rate)/s, seed \(seed)")
        case .file(let path):
            let ok = access(path, R_OK) == 0
            return StartupChecks.Result(
                name: StartupChecks.feedReachable, passed: ok, detail: ok ? "file \(path)" : "file \(path) cannot be read")
        case .socket(let path):
            let ok = UnixSocket.isServing(path)
            return StartupChecks.Result(
                name: StartupChecks.feedReachable, passed: ok, detail: ok ? "socket \(path)" : "nothing serves socket \(path)")
        }
    }

    func start() {
        switch spec {
        case .synthetic(let rate, let seed, let start, let tickSize):
            synthetic = SyntheticFeed(instrument: instruments.sorted().first ?? "X", seed: seed, startPrice: start, tickSize: tickSize)
            onStatus(true, "synthetic feed, \(rate) ticks/s")
            let step = Int64(1e9 / rate)
            scheduleSynthetic(every: step, at: reactor.nowNanos + step)
        case .file(let path): pollFile(path)
        case .socket(let path): connect(path, retryAfter: 0.05)
        }
    }

    /// Each tick is due one step after the previous one was due, not after it fired, so the feed
    /// keeps its rate although timers fire late (whole milliseconds of epoll); after a stall it is
    /// at most one tick behind, never a burst.
    private func scheduleSynthetic(every step: Int64, at deadline: Int64) {
        reactor.schedule(afterNanos: max(0, deadline - reactor.nowNanos)) { [weak self] in
            guard let self, var feed = self.synthetic else { return }
            let tick = feed.next(timeUTC: UTCTimestamp.now())
            self.synthetic = feed
            self.onTick(tick)
            self.scheduleSynthetic(every: step, at: max(deadline + step, self.reactor.nowNanos - step))
        }
    }

    /// Reads what was appended to the file since the last look, every 50 ms (like `tail -f`).
    private func pollFile(_ path: String) {
        if fileFD < 0 {
            fileFD = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fileFD >= 0 { onStatus(true, "reading \(path)") } else { onStatus(false, "cannot open \(path): \(SystemError("open"))") }
        }
        if fileFD >= 0 {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fileFD, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                chunk.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                framer.drain { frame in self.handle(frame) }
            }
        }
        reactor.schedule(afterSeconds: 0.05) { [weak self] in self?.pollFile(path) }
    }

    private func connect(_ path: String, retryAfter delay: Double) {
        guard let fd = try? UnixSocket.connect(path: path, nonBlocking: true) else {
            onStatus(false, "cannot connect to \(path)")
            reactor.schedule(afterSeconds: delay) { [weak self] in self?.connect(path, retryAfter: min(delay * 2, 2)) }
            return
        }
        let c = LineConnection(fd: fd, reactor: reactor)
        c.onFrame = { [weak self] frame in self?.handle(frame) }
        c.onClose = { [weak self] _ in
            guard let self else { return }
            self.connection = nil
            self.onStatus(false, "the feed at \(path) closed")
            self.reactor.schedule(afterSeconds: 0.05) { [weak self] in self?.connect(path, retryAfter: 0.1) }
        }
        connection = c
        onStatus(true, "connected to \(path)")
    }

    private func handle(_ frame: LineFramer.Frame) {
        switch frame {
        case .tooLong(let n): onBadLine("a feed line of \(n) bytes is over the limit")
        case .line(let bytes):
            do {
                let tick = try Tick.parse(Array(bytes))
                guard instruments.contains(tick.instrument) else {
                    onBadLine("a tick for \(tick.instrument), not \(instruments.sorted().joined(separator: "/"))")
                    return
                }
                onTick(tick)
            } catch {
                onBadLine("a feed line is not a tick: \(error)")
            }
        }
    }
}
