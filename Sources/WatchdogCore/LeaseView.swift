import Wire

/// A market's lease across hosts as its worker reports it (`LEASE_STATUS`, and the `lease` object
/// of each `HEARTBEAT`; docs/MULTIHOST.md): what `watchdog status` shows per market.
public struct LeaseView: Codable, Sendable, Equatable {
    public var backend: String
    /// `HOLDER`, `STANDBY`, `LEASE_LOST`, `STARTING`, `RELEASED`.
    public var state: String
    /// This worker's host identity.
    public var host: String?
    public var holderHost: String?
    public var holderFence: Int64?
    /// The database's expiry of the lease, as the worker's wall clock reads it.
    public var expiresAtUTC: String?
    public var standbys: Int
    public var databaseReachable: Bool?
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case backend, state, host, standbys, reason
        case holderHost = "holder_host"
        case holderFence = "holder_fence"
        case expiresAtUTC = "lease_expires_at_utc"
        case databaseReachable = "database_reachable"
    }

    /// From an event's data; nil when it names no state. `reason` is kept from `previous` when
    /// the data has none (a heartbeat's copy).
    init?(_ data: JSONObject, previous: LeaseView?) {
        guard let state = data["state"]?.stringValue else { return nil }
        backend = data["backend"]?.stringValue ?? "postgresql"
        self.state = state
        host = data["host"]?.stringValue
        holderHost = data["holder_host"]?.stringValue
        holderFence = data["holder_fence"]?.intValue
        expiresAtUTC = data["lease_expires_at_utc"]?.stringValue
        standbys = Int(data["standbys"]?.intValue ?? 0)
        databaseReachable = data["database_reachable"]?.boolValue
        reason = data["reason"]?.stringValue ?? previous?.reason
    }

    /// One line for the status table.
    public var line: String {
        var text = "lease (\(backend)): \(state)"
        if let holderHost { text += ", held by \(holderHost)" + (holderFence.map { " fence \($0)" } ?? "") }
        if let expiresAtUTC { text += ", expires \(expiresAtUTC)" }
        text += ", \(standbys) standby" + (standbys == 1 ? "" : "s")
        if databaseReachable == false { text += ", DATABASE_UNREACHABLE" }
        return text
    }
}
