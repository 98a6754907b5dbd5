import CSystemd

/// The sending end of systemd's notification protocol (man sd_notify), through libsystemd.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset, so a process behaves the same under
/// systemd, under the supervisor (which sets its own `NOTIFY_SOCKET`) and started by hand.
public enum SdNotify {
    /// Sends `state` (for example `"READY=1"` or `"STATUS=holding ES"`). Returns false when the
    /// message could not be sent; a missing `NOTIFY_SOCKET` counts as sent.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        sd_notify(0, state) >= 0
    }

    /// The watchdog timeout the parent set through `WATCHDOG_USEC` (and `WATCHDOG_PID`, when set,
    /// names this process), in microseconds; nil when no watchdog is expected.
    public static func watchdogMicros() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }

    /// How many listening sockets systemd passed (from fd 3 on), 0 when none.
    public static func listenFDCount() -> Int32 {
        max(0, sd_listen_fds(0))
    }

    /// Makes a single-line status text safe for `STATUS=`: newlines become spaces.
    public static func statusLine(_ text: String) -> String {
        "STATUS=" + text.replacingNewlines()
    }
}

extension String {
    func replacingNewlines() -> String {
        String(self.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
