/// One datagram of systemd's notification protocol (man sd_notify), as the receiving end reads it:
/// newline-separated `KEY=VALUE` assignments, for example `READY=1\nSTATUS=holding ES`.
///
/// Use it on the supervisor's `NOTIFY_SOCKET`. Parsing never fails: lines without `=` and keys this
/// type does not know are kept in `unknown` (and otherwise ignored), as systemd does.
public struct NotifyMessage: Sendable, Equatable {
    /// `READY=1`: the service finished starting up.
    public var ready = false
    /// `WATCHDOG=1`: a keep-alive ping.
    public var watchdog = false
    /// `WATCHDOG=trigger`: the service asks to be treated as hung at once.
    public var watchdogTrigger = false
    /// `STOPPING=1`: the service is shutting down.
    public var stopping = false
    /// `RELOADING=1`.
    public var reloading = false
    /// The last `STATUS=` text of the datagram.
    public var status: String?
    /// Assignments not understood, in order.
    public var unknown: [String] = []

    public init() {}

    /// Parses a datagram's bytes (invalid UTF-8 is repaired with U+FFFD, never refused).
    public init(_ bytes: [UInt8]) {
        self.init(String(decoding: bytes, as: UTF8.self))
    }

    public init(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else {
                unknown.append(String(line))
                continue
            }
            let key = line[..<eq]
            let value = line[line.index(after: eq)...]
            switch (key, value) {
            case ("READY", "1"): ready = true
            case ("WATCHDOG", "1"): watchdog = true
            case ("WATCHDOG", "trigger"): watchdogTrigger = true
            case ("STOPPING", "1"): stopping = true
            case ("RELOADING", "1"): reloading = true
            case ("STATUS", _): status = String(value)
            default: unknown.append(String(line))
            }
        }
    }
}
