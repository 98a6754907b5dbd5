import Wire

/// Where a worker's orders are executed (docs/robot-worker.md, "Venues"): the in-process SIM venue
/// (`SimVenue`, the default) or the `paper-venue` program (`PaperVenueClient`). A real broker's
/// adapter implements the same protocol.
///
/// Everything runs on the worker's reactor thread and nothing blocks: requests are queued and
/// answered later through `onEvent`. The venue is the source of truth for orders and positions;
/// the worker's `OrderDesk` journals what it reports and reconciles with `fetchState`.
public protocol ExecutionVenue: AnyObject {
    /// `sim` or `paper`.
    var kind: String { get }
    /// Whether requests reach the venue now (the paper venue: connected and welcomed).
    var isReachable: Bool { get }
    /// Why the venue cannot be reached, "" when it can.
    var problem: String { get }
    /// Every answer and unsolicited update, on the reactor thread.
    var onEvent: ((VenueEvent) -> Void)? { get set }
    /// Connects (when there is anything to connect to) saying `fence`; `connected` follows.
    func start(fence: Int64)
    /// Sends an order; a repeated client order ID is answered with the existing order.
    func place(_ order: VenueOrder)
    /// Asks to cancel an open order; `fence` is the asking holder's.
    func cancel(_ clientOrderID: String, fence: Int64)
    /// The account and market's open orders and positions, plus the orders named by `ids` whatever
    /// their status; `nil` when the venue cannot be asked now.
    func fetchState(ids: [String], _ reply: @escaping (VenueState?) -> Void)
    /// A tick of the worker's own feed: the SIM venue fills on it, a paper venue has its own feed.
    func tick(price: Double, timeUTC: String)
}

/// What a venue reports (`ExecutionVenue.onEvent`).
public enum VenueEvent: Sendable, Equatable {
    /// Welcomed: requests flow; `highWater` is the highest fence the venue has seen for the market.
    case connected(highWater: Int64)
    /// The connection was lost or refused; requests wait (and are re-sent: client order IDs make that safe).
    case disconnected(String)
    /// The venue holds the order (`duplicate`: it already did, from an earlier send).
    case accepted(VenueOrder, duplicate: Bool)
    /// The venue refused an order or a cancel (`STALE_FENCE`, `NOT_FOUND`, `NOT_OPEN`, `INVALID`).
    case rejected(clientOrderID: String, reason: String, detail: String, cancel: Bool)
    case cancelled(VenueOrder)
    /// A fill, with the instrument's position after it.
    case filled(VenueOrder, VenuePosition)
}
