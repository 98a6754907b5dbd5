import Foundation
import Logging
import Observability
import Platform
import RobotConfig
import Wire

/// Delivers one destination's alert notices from a thread of its own, so the watchdog's reactor
/// never waits on the network: the loop only appends to the queue under a lock (`enqueue`), and
/// this thread persists the queue (`AlertQueueFile`, fsynced) before each attempt, posts
/// (`HTTPPost`, with the configured timeout), and retries with backoff (`AlertOutbox`).
///
/// For the Alertmanager it also re-posts the open alerts every `alertmanager_resend_seconds`
/// (Prometheus does the same), or it would resolve them by itself after its `resolve_timeout`; a
/// restarted watchdog re-posts them at once, which the Alertmanager de-duplicates by their labels.
///
/// State shared with the loop is guarded by `condition`; file writes by `fileLock` (the queue is
/// copied under it, so a later write never holds older contents).
final class AlertSinkWorker: @unchecked Sendable {
    let sink: AlertSink
    private let settings: AlertingSettings
    private let file: AlertQueueFile
    private let metrics: AlertingMetrics
    private let instance: String
    private let condition = NSCondition()
    private let fileLock = NSLock()

    // Guarded by `condition`.
    private var outbox: AlertOutbox
    private var open: [Alert]
    private var dirty = false
    private var stopping = false
    private var nextResendNanos: Int64 = 0

    // The thread's own.
    private var failingLogged = false
    private var droppedLogged = false

    init(sink: AlertSink, settings: AlertingSettings, stateDir: String, metrics: AlertingMetrics, open: [Alert]) {
        self.sink = sink
        self.settings = settings
        self.metrics = metrics
        self.open = open
        instance = AlertSink.hostName()
        file = AlertQueueFile(stateDir: stateDir, sink: sink.name)
        let loaded = file.load()
        if let problem = loaded.problem { Diagnostics.logger.error("\(problem)", metadata: ["event": "ALERT_QUEUE_DAMAGED"]) }
        outbox = AlertOutbox(capacity: settings.queueCapacity, notices: loaded.notices)
        metrics.register(sink: sink.name)
        metrics.queueLength(sink: sink.name, outbox.count)
        if !outbox.isEmpty {
            Diagnostics.note("\(sink.name): \(outbox.count) alert notice(s) queued by the previous run, delivering to \(sink.target)")
        }
    }

    func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "alerts-\(sink.name)"
        thread.start()
    }

    /// Queues `notices` (from the loop: takes a lock, never waits on I/O) and records the alerts
    /// now open, for the Alertmanager's re-posts.
    func enqueue(_ notices: [AlertNotice], open: [Alert]) {
        condition.lock()
        var dropped = 0
        for n in notices { dropped += outbox.add(n) }
        self.open = open
        dirty = dirty || !notices.isEmpty
        let length = outbox.count
        condition.signal()
        condition.unlock()
        metrics.queueLength(sink: sink.name, length)
        if dropped > 0 { metrics.dropped(sink: sink.name, count: dropped) }
    }

    /// Stops the thread (an attempt in flight ends with its timeout) and writes the queue now.
    func finish() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        persist()
    }

    /// The queue as it is now, durably.
    private func persist() {
        fileLock.lock()
        defer { fileLock.unlock() }
        condition.lock()
        let notices = outbox.notices
        dirty = false
        condition.unlock()
        do { try file.save(notices) } catch {
            Diagnostics.logger.error("\(file.path): cannot save the alert queue: \(error)", metadata: ["event": "ALERT_QUEUE_UNSAVED"])
        }
    }

    private enum Work {
        case deliver([AlertNotice])
        case resend([Alert])
    }

    private func serve() {
        while true {
            condition.lock()
            var work: Work?
            while work == nil {
                if stopping {
                    condition.unlock()
                    return
                }
                if dirty {
                    condition.unlock()
                    persist()
                    condition.lock()
                    continue
                }
                let now = MonotonicClock.nowNanos()
                let batch = outbox.due(now: now, limit: sink.batchLimit)
                let resends = isAlertmanager && !open.isEmpty
                if !batch.isEmpty {
                    work = .deliver(batch)
                } else if resends, now >= nextResendNanos {
                    work = .resend(open)
                } else {
                    var wake: Int64 = .max
                    if !outbox.isEmpty { wake = outbox.nextAttemptNanos }
                    if resends { wake = min(wake, nextResendNanos) }
                    if wake == .max {
                        condition.wait()
                    } else {
                        _ = condition.wait(until: Date(timeIntervalSinceNow: Double(max(0, wake - now)) / 1e9))
                    }
                }
            }
            condition.unlock()
            switch work! {
            case .deliver(let batch): deliver(batch)
            case .resend(let alerts): resend(alerts)
            }
        }
    }

    private var isAlertmanager: Bool {
        if case .alertmanager = sink { return true }
        return false
    }

    private func deliver(_ batch: [AlertNotice]) {
        let result = post(sink.body(batch, instance: instance))
        condition.lock()
        let now = MonotonicClock.nowNanos()
        var delay = 0.0
        switch result {
        case .success:
            outbox.delivered(batch)
            nextResendNanos = now + Int64(settings.alertmanagerResend * 1e9)
            dirty = true
        case .failure:
            delay = outbox.failed(now: now, retryInitial: settings.retryInitial, retryMax: settings.retryMax)
        }
        let length = outbox.count
        condition.unlock()
        metrics.queueLength(sink: sink.name, length)
        switch result {
        case .success:
            metrics.sent(sink: sink.name, count: batch.count)
            persist()
        case .failure(let error):
            metrics.failed(sink: sink.name)
            logFailure(error, retryIn: delay, queued: length)
        }
    }

    private func resend(_ alerts: [Alert]) {
        let notices = alerts.prefix(sink.batchLimit * 16).map { AlertNotice(status: .firing, alert: $0) }
        let result = post(sink.body(Array(notices), instance: instance))
        condition.lock()
        nextResendNanos = MonotonicClock.nowNanos() + Int64(settings.alertmanagerResend * 1e9)
        condition.unlock()
        switch result {
        case .success: metrics.sent(sink: sink.name, count: notices.count)
        case .failure(let error):
            metrics.failed(sink: sink.name)
            logFailure(error, retryIn: settings.alertmanagerResend, queued: nil)
        }
    }

    /// Posts `body`; a 2xx answer is a delivery, clears the failing state and logs the recovery.
    private func post(_ body: [UInt8]) -> Result<Void, HTTPPost.Failure> {
        let result: Result<Void, HTTPPost.Failure>
        switch HTTPPost.send(body, to: sink.target, timeout: settings.requestTimeout) {
        case .success(let code) where (200..<300).contains(code): result = .success(())
        case .success(let code): result = .failure(HTTPPost.Failure("answered HTTP \(code)"))
        case .failure(let e): result = .failure(e)
        }
        if case .success = result, failingLogged {
            failingLogged = false
            droppedLogged = false
            Diagnostics.logger.notice(
                "\(sink.name): delivering alerts to \(sink.target) again", metadata: ["event": "ALERT_DELIVERY_RECOVERED"])
        }
        return result
    }

    /// Logs the first failure of an outage (then only the recovery), and the first drop.
    private func logFailure(_ error: HTTPPost.Failure, retryIn delay: Double, queued: Int?) {
        if !failingLogged {
            failingLogged = true
            Diagnostics.logger.warning(
                "\(sink.name): cannot deliver alerts to \(sink.target): \(error); retrying in \(SecondsText.tenths(delay)) s, then with backoff up to \(SecondsText.tenths(settings.retryMax)) s (logged again when it recovers)",
                metadata: ["event": "ALERT_DELIVERY_FAILING"])
        }
        if let queued, queued >= settings.queueCapacity, !droppedLogged {
            droppedLogged = true
            Diagnostics.logger.warning(
                "\(sink.name): the alert queue is full (\(settings.queueCapacity)); the oldest notices are dropped and counted in robot_alert_notices_dropped_total",
                metadata: ["event": "ALERT_QUEUE_FULL"])
        }
    }
}
