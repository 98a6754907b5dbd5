import Logging

/// The watchdog's log: one line per state change, never one per event, through swift-log
/// (`ProcessLogging`): plain `watchdog: ...` lines on stderr, structured journal entries under
/// systemd.
enum Diagnostics {
    static let logger = Logger(label: "watchdog")

    static func note(_ message: String, event: String? = nil) {
        logger.notice("\(message)", metadata: event.map { ["event": "\($0)"] } ?? [:])
    }
}
