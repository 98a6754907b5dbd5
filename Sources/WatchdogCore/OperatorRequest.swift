import Wire

/// One request of an operator connection (after `{"v":1,"type":"hello","role":"operator"}`),
/// one JSON line each, answered by one line (docs/PROTOCOL.md, "Operator requests"):
///
/// - `{"v":1,"type":"status"}` or `{"v":1,"type":"status","market":"ES"}` -> `StatusReport`
/// - `{"v":1,"type":"ack","market":"ES"}` or with `"alert_id":"ES-7"` -> `AckReport`
///
/// A line that is not a valid request is answered with a `WireError` naming the reason
/// (counted); the connection stays open.
public struct OperatorRequest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case status
        case ack
    }

    public var v: Int64 = WireFormat.version
    public var type: Kind
    public var market: String?
    public var alertID: String?

    public init(type: Kind, market: String? = nil, alertID: String? = nil) {
        self.type = type
        self.market = market
        self.alertID = alertID
    }

    enum CodingKeys: String, CodingKey {
        case v, type, market
        case alertID = "alert_id"
    }

    /// True for requests that change state: allowed only to `OperatorAccess.mayChangeState` peers.
    public var changesState: Bool { type == .ack }
}

/// Who may change the watchdog's state over its socket: root, and the user the watchdog runs as.
/// Anyone who can connect (the socket is mode 0660) may read the status.
public enum OperatorAccess {
    /// True when a peer of uid `peerUID` may send state-changing requests to a watchdog running
    /// as `ownUID`. A peer whose credentials are unknown may not.
    public static func mayChangeState(peerUID: UInt32?, ownUID: UInt32) -> Bool {
        guard let peerUID else { return false }
        return peerUID == 0 || peerUID == ownUID
    }
}
