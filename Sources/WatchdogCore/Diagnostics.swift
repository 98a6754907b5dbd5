import Logging
import ProcessShell

/// The watchdog's log: one line per state change, never one per event, through `ProcessLog` (plain
/// `watchdog: ...` lines on stderr, structured journal entries under systemd).
enum Diagnostics {
    static let log = ProcessLog("watchdog", level: .notice, failureEvent: "WATCHDOG_START_FAILED")
    static var logger: Logger { log.logger }

    static func note(_ message: String, event: String? = nil) { log.note(message, event: event) }
}
