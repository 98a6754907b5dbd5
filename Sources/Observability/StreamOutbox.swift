/// What one event-stream client of the dashboard is owed: a pure bound on what a slow browser
/// makes the watchdog hold.
///
/// An update is written only while the client's connection is writable (NIO's write buffer is
/// under its high-water mark); otherwise it is dropped and counted, and the client is marked owed.
/// When the connection drains, the client gets the latest document (not the ones it missed), so
/// memory per client is at most the high-water mark plus one document however slow it reads.
public struct StreamOutbox: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Write this version now.
        case send(UInt64)
        /// The client is not writable: nothing is written; counted as dropped.
        case drop
        /// The client has it already.
        case none
    }

    /// The last version written to the client (0 before the first).
    public private(set) var sentVersion: UInt64 = 0
    /// Updates dropped because the client was not writable.
    public private(set) var dropped: Int = 0
    /// An update was dropped and the client has not had a newer one since.
    public private(set) var owed = false

    public init() {}

    /// A new document `version` is out; `writable` is the connection's state now.
    public mutating func offer(_ version: UInt64, writable: Bool) -> Action {
        guard version != sentVersion else { return .none }
        guard writable else {
            dropped += 1
            owed = true
            return .drop
        }
        sentVersion = version
        owed = false
        return .send(version)
    }

    /// The connection became writable again; `latest` is the newest version out. Returns what to do.
    public mutating func drained(latest: UInt64) -> Action {
        guard owed else { return .none }
        owed = false
        guard latest != sentVersion else { return .none }
        sentVersion = latest
        return .send(latest)
    }
}
