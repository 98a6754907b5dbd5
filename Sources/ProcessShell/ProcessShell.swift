import Observability
import Platform

/// What every robot program (`robot-worker`, `watchdog`, `supervisor`) does around its own work,
/// written once: the start-up preamble and the `WATCHDOG=1` ping. Logging and fatal exits are
/// `ProcessLog`'s; the exit statuses the programs share are `SharedExitStatus`.
public enum ProcessShell {
    /// The start-up preamble: swift-log bootstrapped for `identifier` (the journal's
    /// `SYSLOG_IDENTIFIER=` and the stderr prefix), then the reactor, with `signals` blocked from
    /// this moment, so one arriving during start-up waits for the loop (the program installs its
    /// handler when it is ready to serve).
    public static func begin(identifier: String, environment: [String: String], signals: [Int32]) throws(SystemError) -> Reactor {
        ProcessLogging.bootstrap(identifier: identifier, environment: environment)
        let reactor = try Reactor()
        try reactor.onSignals(signals) { _ in }
        return reactor
    }

    /// Sends `WATCHDOG=1` every half of `WATCHDOG_USEC` from a timer on `reactor`, when the parent
    /// (systemd or the supervisor) asked for pings: a hung loop stops them, and the parent restarts
    /// the process.
    public static func pingWatchdog(on reactor: Reactor) {
        guard let usec = SdNotify.watchdogMicros() else { return }
        ping(reactor, every: Int64(usec) * 1000 / 2)
    }

    private static func ping(_ reactor: Reactor, every nanos: Int64) {
        reactor.schedule(afterNanos: nanos) { [unowned reactor] in
            SdNotify.send("WATCHDOG=1")
            ping(reactor, every: nanos)
        }
    }
}
