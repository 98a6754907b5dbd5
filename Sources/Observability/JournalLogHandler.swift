import Logging

/// The swift-log handler of the robot processes: structured journal entries under systemd, plain
/// `IDENTIFIER: message` lines on stderr otherwise (`LogDestination` decides which).
///
/// Metadata becomes journal fields (`market` -> `MARKET=`, `run_id` -> `RUN_ID=`, `fence` ->
/// `FENCE=`, `event` -> `EVENT=`) so `journalctl MARKET=ES EVENT=WORKER_RESTART` finds what
/// happened; on stderr the line stays what it always was, without the metadata, so existing log
/// readers keep working. Log one line per state change, never one per event or heartbeat.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?

    private let identifier: String
    private let destination: LogDestination

    public init(identifier: String, destination: LogDestination) {
        self.identifier = identifier
        self.destination = destination
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let message = event.message.description
        destination.write(
            JournalEntry(identifier: identifier, level: event.level, message: message, metadata: merged),
            line: "\(identifier): \(message)")
    }
}
