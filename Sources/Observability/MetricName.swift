import Prometheus

/// The name and help text of one Prometheus metric family, as docs/METRICS.md lists it.
///
/// Every metric the stack exports is a static constant below, so a name is written once and a
/// dashboard, an alert rule and the code agree. Names follow Prometheus conventions: the `robot_`
/// prefix, `_total` on counters, `_seconds` for durations, `_timestamp_seconds` for points in time
/// (Unix seconds, never ages), `_bytes` for sizes. Labels are `market` (the canonical market) and,
/// where it helps, one more (`reason`, `cause`, `type`, `outcome`, `mode`, `state`, `severity`).
///
/// Registering the same name twice with a different help text or type is a programming error that
/// swift-prometheus stops the process for; using these constants makes that impossible.
public struct MetricName: Sendable, Hashable {
    public let name: String
    public let help: String

    public init(_ name: String, _ help: String) {
        self.name = name
        self.help = help
    }

    /// The descriptor `PrometheusCollectorRegistry` takes (the full name is in `metricName`).
    var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: "", helpText: help) }
}

extension MetricName {
    // MARK: every process

    public static let processResidentMemoryBytes = MetricName(
        "robot_process_resident_memory_bytes", "Resident set size of the process, read from /proc/self/statm at scrape time.")
    public static let processStartTimeSeconds = MetricName(
        "robot_process_start_time_seconds", "When the process started, in Unix seconds; uptime is time() minus this.")

    // MARK: robot-worker

    public static let eventsEmitted = MetricName(
        "robot_events_emitted_total", "Events the worker journaled, by event type (heartbeats included).")
    public static let journalBytes = MetricName("robot_journal_bytes", "Size of the market's event journal (events.ndjson).")
    public static let journalFsyncSeconds = MetricName(
        "robot_journal_fsync_seconds",
        "Time of each journal fdatasync that completed (returned success); the count is syncs done, not events.")
    public static let journalWriteFailures = MetricName(
        "robot_journal_write_failures_total", "Journal appends that failed (the event was not emitted).")
    public static let unackedEvents = MetricName(
        "robot_unacked_events", "Events of this run not yet acknowledged by the watchdog.")
    public static let orders = MetricName(
        "robot_orders_total", "SIM orders by outcome: placed, blocked, rejected, filled, cancelled, timed_out.")
    public static let workerMode = MetricName(
        "robot_worker_mode", "1 for the worker's current mode (AGGRESSIVE, OBSERVE_ONLY, SHUTDOWN), 0 for the others.")
    public static let workerFailsafeLatched = MetricName(
        "robot_worker_failsafe_latched", "1 while the worker's fail-safe is latched (until an operator acknowledges).")
    public static let workerHealthy = MetricName("robot_worker_healthy", "1 when the worker's last health evaluation passed.")
    public static let workerFence = MetricName("robot_worker_fence", "The fence of the worker's lock acquisition.")
    public static let workerIdentityPass = MetricName(
        "robot_worker_identity_pass", "1 when the worker's last identity invariants check passed.")
    public static let ordersRefused = MetricName(
        "robot_orders_refused_total",
        "New SIM orders the order gate refused, by reason: IDENTITY_VIOLATION, FENCE_UNCONFIRMED, FENCE_REGRESSION.")
    public static let workerOrderGateRefusals = MetricName(
        "robot_worker_order_gate_refusals", "Refusals in force in the worker's order gate, one per refused stream (0: the gate is open).")
    // The capital ledger and reconciliation of a worker (LedgerMetrics).
    public static let capitalAllocated = MetricName(
        "robot_capital_allocated", "The account's allocated capital (venue.capital), as the market's worker uses it in its capital ledger.")
    public static let capitalReservedOrders = MetricName(
        "robot_capital_reserved_for_orders",
        "Capital reserved by the market's open and sent orders (quantity x limit, or x the last price).")
    public static let capitalReservedPositions = MetricName(
        "robot_capital_reserved_for_positions", "Capital reserved by the market's positions (|quantity| x average price).")
    public static let capitalRealizedPnL = MetricName("robot_capital_realized_pnl", "Realized P&L of the market's positions.")
    public static let capitalAvailable = MetricName(
        "robot_capital_available",
        "allocated - reserved_for_orders - reserved_for_positions + realized_pnl: the capital ledger's invariant keeps it >= 0.")
    public static let capitalRefusals = MetricName(
        "robot_capital_refusals_total", "Orders refused before they were sent because they would break the capital ledger's invariant.")
    public static let capitalViolations = MetricName(
        "robot_capital_violations_total", "Fills after which the capital ledger's invariant was broken (each trips CAPITAL_INVARIANT).")
    public static let reconciliations = MetricName(
        "robot_reconciliations_total", "Reconciliations of the worker's book with its venue, by result: clean or mismatched.")
    public static let workerFenceRaises = MetricName(
        "robot_worker_fence_raises_total",
        "Times the worker raised its fence above the market's high-water mark (the lock folder lost its fences).")
    public static let workerFeedConnected = MetricName(
        "robot_worker_feed_connected", "1 while the worker's market-data feed is connected.")
    public static let workerWatchdogUnreachable = MetricName(
        "robot_worker_watchdog_unreachable",
        "1 while the watchdog has not answered for longer than safety.unobserved_seconds (the worker holds OBSERVE_ONLY, WATCHDOG_UNREACHABLE)."
    )
    public static let workerLastHeartbeat = MetricName(
        "robot_worker_last_heartbeat_timestamp_seconds", "When the worker journaled its last HEARTBEAT, in Unix seconds.")

    // MARK: supervisor

    public static let supervisorRestarts = MetricName(
        "robot_supervisor_restarts_total",
        "Automatic worker restarts decided by the restart policy, by cause: exit, signal, watchdog_timeout, start_timeout.")
    public static let supervisorWorkerState = MetricName(
        "robot_supervisor_worker_state",
        "1 for the market's current supervision state (STARTING, RUNNING, BACKOFF, STOPPING, STOPPED, BLOCKED, FATAL).")
    public static let supervisorWorkerUp = MetricName("robot_supervisor_worker_up", "1 while the market's worker is RUNNING (ready).")
    public static let supervisorReadinessTimeouts = MetricName(
        "robot_supervisor_readiness_timeouts_total", "Workers killed for sending no READY=1 within the start timeout.")
    public static let supervisorWatchdogTimeouts = MetricName(
        "robot_supervisor_watchdog_timeouts_total", "Workers ended for sending no WATCHDOG=1 within the watchdog interval.")

    public static let supervisorVenueState = MetricName(
        "robot_supervisor_venue_state",
        "1 for the supervised paper venue's current supervision state (STARTING, RUNNING, BACKOFF, STOPPING, STOPPED, FATAL).")
    public static let supervisorVenueUp = MetricName("robot_supervisor_venue_up", "1 while the supervised paper venue is RUNNING (ready).")
    public static let supervisorVenueRestarts = MetricName(
        "robot_supervisor_venue_restarts_total",
        "Automatic restarts of the supervised paper venue decided by the restart policy, by cause.")

    // MARK: watchdog (names fixed in advance; see WatchdogMetrics)

    public static let eventsIngested = MetricName(
        "robot_events_ingested_total", "Events the watchdog accepted and applied, heartbeats included.")
    public static let eventsRejected = MetricName(
        "robot_events_rejected_total", "Lines the watchdog rejected, by rejection reason.")
    public static let eventDuplicates = MetricName(
        "robot_event_duplicates_total", "Events seen again (same run and seq) and not applied twice.")
    public static let eventGaps = MetricName("robot_event_gaps_total", "Sequence gaps detected in a run's events.")
    public static let staleFenceEvents = MetricName(
        "robot_stale_fence_events_total", "Events of a lower fence than the market's high-water mark, kept as history only.")
    public static let heartbeatState = MetricName("robot_heartbeat_state", "The market's heartbeat state: 0 OK, 1 LATE, 2 LOST.")
    public static let lastHeartbeat = MetricName(
        "robot_last_heartbeat_timestamp_seconds", "When the watchdog received the market's last heartbeat, in Unix seconds.")
    public static let ordersRefusedNow = MetricName(
        "robot_orders_refused", "Refusals in force in the market's order gate, from its last ORDER_GATE_STATUS (absent before one).")
    public static let identityPass = MetricName(
        "robot_identity_pass", "1 when the market's last IDENTITY_INVARIANTS_STATUS passed, 0 when it failed, absent before one.")
    public static let mode = MetricName("robot_mode", "1 for the market's current mode as the watchdog knows it, 0 for the others.")
    public static let fence = MetricName("robot_fence", "The highest fence the watchdog has seen for the market.")
    public static let openAlerts = MetricName("robot_open_alerts", "Unacknowledged alerts open for the market, by severity.")
    public static let failsafeLatched = MetricName(
        "robot_failsafe_latched", "1 while the market's fail-safe is latched, as the watchdog knows it.")

    // MARK: watchdog alert delivery (AlertingMetrics)

    public static let alertQueueLength = MetricName(
        "robot_alert_queue_length", "Alert notices waiting for delivery to a destination (alertmanager, webhook).")
    public static let alertNoticesSent = MetricName(
        "robot_alert_notices_sent_total", "Alert notices (raised or resolved) a destination accepted; Alertmanager re-posts included.")
    public static let alertNoticesFailed = MetricName(
        "robot_alert_notices_failed_total", "Delivery attempts that failed (no connection, timeout, or a non-2xx answer); each is retried.")
    public static let alertNoticesDropped = MetricName(
        "robot_alert_notices_dropped_total", "Alert notices dropped undelivered because the destination's queue was full (the oldest go).")
}

extension MetricName {
    // MARK: watchdog dashboard (docs/watchdog.md, "Dashboard")

    public static let dashboardStreamClients = MetricName(
        "robot_dashboard_stream_clients", "Browsers (or other clients) holding the dashboard's event stream open.")
    public static let dashboardUpdatesDropped = MetricName(
        "robot_dashboard_updates_dropped_total",
        "Status updates not sent to a stream client because its connection was not writable (a slow or stalled browser); it gets the latest one once it drains."
    )
    public static let dashboardRequests = MetricName(
        "robot_dashboard_requests_total", "Dashboard HTTP requests, by answer status code.")
}

extension MetricName {
    // MARK: robot-worker's lease across hosts (LeaseMetrics; docs/MULTIHOST.md)

    public static let leaseRenewSeconds = MetricName(
        "robot_worker_lease_renew_seconds", "Time from sending a lease renewal to the database's confirmation.")
    public static let leaseRenewFailures = MetricName(
        "robot_worker_lease_renew_failures_total", "Lease renewals that failed: no answer in time, or the database said the lease is gone.")
    public static let leaseTakeovers = MetricName(
        "robot_worker_lease_acquisitions_total",
        "Times this worker was granted its market's lease (each with a new fence): takeovers and re-acquisitions.")
    public static let leaseStandbySeconds = MetricName(
        "robot_worker_lease_standby_seconds_total", "Seconds this worker spent as a STANDBY (another host held the lease).")
    public static let leaseRole = MetricName(
        "robot_worker_lease_role", "1 for the worker's lease role (HOLDER, STANDBY, LEASE_LOST, STARTING), 0 for the others.")
    public static let leaseDatabaseUp = MetricName(
        "robot_worker_lease_database_up", "1 while the lease database answers the worker, 0 while it does not.")
    public static let leaseStandbys = MetricName(
        "robot_worker_lease_standbys", "Standby workers of other runs the lease database counts for the market.")
}
