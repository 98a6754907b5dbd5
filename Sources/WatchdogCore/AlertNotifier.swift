import Observability
import RobotConfig

/// What the watchdog's loop calls to tell people about alerts (docs/watchdog.md, "Alerts reach a
/// person"): after each state change, `observe` finds the alerts raised and resolved
/// (`AlertChanges`), writes each to the journal (`AlertJournal`) and queues it for every
/// configured destination (`AlertSinkWorker`, a thread each). Nothing here waits on I/O but the
/// journal's datagram.
final class AlertNotifier {
    private var changes: AlertChanges
    private let workers: [AlertSinkWorker]

    init(state: WatchdogState, config: Configuration, metrics: AlertingMetrics) {
        changes = AlertChanges(state)
        let open = changes.open.values.sorted { $0.alertID < $1.alertID }
        workers = AlertSink.configured(config.alerting).map {
            AlertSinkWorker(sink: $0, settings: config.alerting, stateDir: config.paths.stateDir, metrics: metrics, open: open)
        }
    }

    /// Starts the delivery threads.
    func start() {
        for w in workers { w.start() }
        if !workers.isEmpty {
            Diagnostics.note("alerts go to the journal and \(workers.map { "\($0.sink.name) \($0.sink.target)" }.joined(separator: ", "))")
        }
    }

    /// Call after every change of `state`; cheap when no alert was raised or closed.
    func observe(_ state: WatchdogState) {
        let notices = changes.notices(state)
        guard !notices.isEmpty else { return }
        for n in notices { AlertJournal.write(n) }
        guard !workers.isEmpty else { return }
        let open = changes.open.values.sorted { $0.alertID < $1.alertID }
        for w in workers { w.enqueue(notices, open: open) }
    }

    /// Writes every queue to disk and stops the threads.
    func finish() {
        for w in workers { w.finish() }
    }
}
