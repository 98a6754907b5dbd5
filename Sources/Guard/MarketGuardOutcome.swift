/// What one acquisition attempt gave.
public enum MarketGuardOutcome {
    case acquired(any HeldMarketGuard, previous: PreviousHolder?)
    case alreadyActive(MarketHolder)
}

/// Who held a market's guard before a successful acquisition, when it was not released cleanly.
public enum PreviousHolder: Sendable, Equatable {
    /// The record names a run that no longer holds the guard: it crashed.
    case crashed(LockRecord)
    /// The guard's place held bytes that are not a record (torn write or damage).
    case unknown(byteCount: Int)
}

/// The live holder of a market's guard (the one that refused us).
public struct MarketHolder: Sendable, Equatable {
    /// The holder's record, when it could be read and the authority confirms its pid.
    public var record: LockRecord?
    /// Pids the authority says hold the guard (for flock: the kernel's `/proc/locks`; the event
    /// field is `kernel_pids`).
    public var kernelPIDs: [Int32]
    /// How the holder was found, for the event and the log.
    public var detail: String

    public init(record: LockRecord?, kernelPIDs: [Int32], detail: String) {
        self.record = record
        self.kernelPIDs = kernelPIDs
        self.detail = detail
    }
}
