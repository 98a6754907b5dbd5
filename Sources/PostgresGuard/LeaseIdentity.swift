/// Whose lease, and who asks: the row's key (account, market) and the holder it would name.
public struct LeaseIdentity: Sendable, Equatable {
    public var account: String
    public var market: String
    public var host: String
    public var runID: String
    public var pid: Int32

    public init(account: String, market: String, host: String, runID: String, pid: Int32) {
        (self.account, self.market, self.host, self.runID, self.pid) = (account, market, host, runID, pid)
    }

    /// The NOTIFY payload that names this row (`LeaseSchema.channel`).
    public var notifyPayload: String { "\(account)/\(market)" }
}
