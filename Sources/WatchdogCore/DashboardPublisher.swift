import Foundation
import Logging
import Observability
import Platform
import RobotConfig

/// The reactor's side of the live status page (docs/watchdog.md, "Dashboard").
///
/// A timer on the reactor every 50 ms asks `PublishThrottle` whether a document is due (the state
/// `changed` since the last one, a stream is open and 150 ms passed; or 1 s passed); if so it publishes a renderer
/// over a copy of the status report (copy-on-write: no encoding on the reactor) to the
/// `StatusFeed`, which the dashboard's HTTP thread renders and serves. The event path only sets
/// `changed` (through `WatchdogServer.markDirty`): no publishing per event.
final class DashboardPublisher {
    let feed = StatusFeed()
    /// Set by the server whenever its state changes; cleared on each publish.
    var changed = true
    private var throttle = PublishThrottle()
    private var server: DashboardServer?
    private var probe: SupervisorStatusProbe?
    private var report: (() -> StatusReport)?

    /// Serves the page when the configuration enables it; logs the address, or why not (a taken
    /// port: the watchdog runs on without a page, as without `/metrics`).
    func start(config: Configuration, reactor: Reactor, metrics: MetricsEndpoint, report: @escaping () -> StatusReport) {
        let settings = config.dashboard
        guard settings.enabled else { return }
        let token: String?
        do { token = try settings.readToken() } catch {
            Diagnostics.logger.warning("\(error); running without the dashboard", metadata: ["event": "DASHBOARD_UNAVAILABLE"])
            return
        }
        self.report = report
        do {
            let server = try DashboardServer.start(
                host: settings.host, port: settings.port, feed: feed, token: token, registry: metrics.registry, pid: getpid())
            self.server = server
            let authority = settings.host.contains(":") ? "[\(settings.host)]:\(server.port)" : "\(settings.host):\(server.port)"
            Diagnostics.logger.info(
                "dashboard at http://\(authority)/\(token == nil ? "" : " (bearer token required)")",
                metadata: ["event": "DASHBOARD_SERVING"])
        } catch {
            Diagnostics.logger.warning("\(error); running without the dashboard", metadata: ["event": "DASHBOARD_UNAVAILABLE"])
            return
        }
        let probe = SupervisorStatusProbe(socketPath: config.paths.socketDir + "/supervisor.sock", feed: feed)
        probe.start()
        self.probe = probe
        publishIfDue(reactor)
    }

    private func publishIfDue(_ reactor: Reactor) {
        // Changes are published at once (150 ms apart) only while a stream is open; otherwise once
        // a second, for `/api/status` and `/api/health`: a published copy makes the loop's next
        // change copy the markets once (copy-on-write), which nobody needs when nobody watches.
        if let report, throttle.due(now: MonotonicClock.nowNanos(), changed: changed && feed.streamClients > 0) {
            changed = false
            let snapshot = report()
            feed.publish { Self.encode(snapshot) }
        }
        reactor.schedule(afterSeconds: 0.05) { [unowned self] in self.publishIfDue(reactor) }
    }

    /// The same document as `watchdog status --json`, on one line (keys sorted).
    static func encode(_ report: StatusReport) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(report))) ?? Array(#"{"error":"the status could not be encoded"}"#.utf8)
    }

    func shutdown() {
        probe?.stop()
        server?.shutdown()
        server = nil
    }
}
