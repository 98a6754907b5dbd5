#if canImport(Glibc)
import Glibc
#endif

/// Test only: a worker whose snapshot is not caught up by its idle loop (`Engine+SnapshotLag`), so
/// a test can kill it after an order's `ORDER_ACCEPTED` is journaled and before any snapshot holds
/// the order, and show that the journal carries the order to the next start (docs/robot-worker.md,
/// "The snapshot lags the journal"). Off unless the worker's environment has
/// `ROBOT_TEST_SNAPSHOT_LAG=1`; the snapshot's other writes (a fill, a cancel, a mode change, the
/// periodic one) are unchanged.
enum TestSnapshotLag {
    static let environmentKey = "ROBOT_TEST_SNAPSHOT_LAG"

    /// Read once: the variable is part of the process's start.
    static let held: Bool = getenv(environmentKey).map { String(cString: $0) == "1" } ?? false
}
