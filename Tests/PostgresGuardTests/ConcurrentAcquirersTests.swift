import Dispatch
import Foundation
import PostgresGuard
import Synchronization
import TestSupport
import Testing

/// The lease's statements against a real PostgreSQL (docs/MULTIHOST.md, "How the statements
/// cannot interleave badly"): many runs asking for one market at the same moment, round after
/// round, get exactly one grant per round, and the fence goes up by one each time.
///
/// The tests are `async` and never block a thread of Swift's cooperative pool (the worker calls
/// the client's blocking start-up from its own main thread; here it runs on a thread of its own).
@Suite(.enabled(if: PostgresCluster.isInstalled, "needs PostgreSQL 15 (scripts/setup installs it)"), .serialized)
struct ConcurrentAcquirersTests {
    /// A lease client whose replies land in a list the test reads.
    final class Client: Sendable {
        let lease: PostgresLeaseClient
        let replies = Mutex<[LeaseReply]>([])

        init(_ pg: PostgresCluster, run: String) {
            let database = LeaseDatabase(
                host: "127.0.0.1", port: pg.port, user: pg.user, password: pg.password, database: pg.database, shownAs: pg.url)
            lease = PostgresLeaseClient(
                database: database, identity: LeaseIdentity(account: "acct", market: "ES", host: "h-\(run)", runID: run, pid: 1),
                leaseSeconds: 60, requestTimeoutSeconds: 30)
            lease.deliver(to: { [weak self] reply in self?.replies.withLock { $0.append(reply) } })
        }

        /// The reply to request `id`, once it is there (polled, with a deadline).
        func reply(_ id: UInt64, timeout: Double = 60) async throws -> LeaseReply {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let r = replies.withLock({ list in list.first { Self.id(of: $0) == id } }) { return r }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
            throw PostgresClusterError("no reply to request \(id) within \(timeout) s")
        }

        /// `prepare()` (which blocks its caller) on a thread of its own.
        func prepare() async -> LeaseFailure? {
            let lease = self.lease
            return await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: lease.prepare()) }
            }
        }

        static func id(of reply: LeaseReply) -> UInt64? {
            switch reply {
            case .acquired(let id, _, _), .held(let id, _), .renewed(let id, _, _), .notRenewed(let id), .released(let id),
                .failed(let id, _):
                return id
            case .releasedByHolder, .listening: return nil
            }
        }
    }

    @Test func eightRunsRacingForOneMarketGetOneGrantPerRoundAndTheFenceRisesByOne() async throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        let clients = (0..<8).map { Client(pg, run: "run-\($0)") }
        defer { for c in clients { c.lease.shutdown() } }
        // Eight connections migrate at once: the advisory lock makes it one migration.
        let prepared = await withTaskGroup(of: LeaseFailure?.self) { group in
            for c in clients { group.addTask { await c.prepare() } }
            var all: [LeaseFailure?] = []
            for await f in group { all.append(f) }
            return all
        }
        #expect(prepared.count == 8 && prepared.allSatisfy { $0 == nil }, "\(prepared)")
        #expect(try pg.psql("SELECT version FROM robot_runtime_schema") == "1")

        var lastFence: Int64 = 0
        var winners: [Int] = []
        for round in 1...15 {
            let id = UInt64(round)
            // Everyone asks at once (the floor is 0: the row's fence decides).
            for c in clients { c.lease.submit(.acquire(floor: 0), id: id) }
            var granted: [(Int, Int64)] = []
            for (i, c) in clients.enumerated() {
                switch try await c.reply(id) {
                case .acquired(_, let fence, _): granted.append((i, fence))
                case .held(_, let holder): #expect(holder == nil || holder?.runID.hasPrefix("run-") == true)
                case let other: Issue.record("round \(round): client \(i): \(other)")
                }
            }
            #expect(granted.count == 1, "round \(round): \(granted)")
            guard let (winner, fence) = granted.first else { break }
            #expect(fence == lastFence + 1, "round \(round): fence \(fence) after \(lastFence)")
            lastFence = fence
            winners.append(winner)
            #expect(try pg.psql("SELECT holder_run_id || ' ' || fence FROM robot_lease") == "run-\(winner) \(fence)")
            // The winner releases; the next round races for a released row.
            clients[winner].lease.submit(.release(fence: fence), id: 1000 + id)
            #expect(try await clients[winner].reply(1000 + id) == .released(id: 1000 + id))
        }
        #expect(lastFence == 15)
        print("\(#function): winners by round: \(winners)")
    }

    @Test func aRenewalOfAFenceThatIsNoLongerTheRowsIsRefusedAndTheFenceNeverGoesDown() async throws {
        let pg = try PostgresCluster()
        defer { pg.stop() }
        try pg.start()
        let a = Client(pg, run: "run-a")
        let b = Client(pg, run: "run-b")
        defer {
            a.lease.shutdown()
            b.lease.shutdown()
        }
        a.lease.submit(.acquire(floor: 40), id: 1)
        let r1 = try await a.reply(1)
        guard case .acquired(_, 41, _) = r1 else {
            Issue.record("\(r1)")
            return
        }
        // b cannot take it while it runs; a renews.
        b.lease.submit(.acquire(floor: 0), id: 1)
        let r2 = try await b.reply(1)
        guard case .held(_, let holder?) = r2 else {
            Issue.record("\(r2)")
            return
        }
        #expect(holder.runID == "run-a" && holder.fence == 41 && holder.remainingSeconds > 25 && holder.standbys == 1)
        a.lease.submit(.renew(fence: 41), id: 2)
        let r3 = try await a.reply(2)
        guard case .renewed(_, _, let standbys) = r3 else {
            Issue.record("\(r3)")
            return
        }
        #expect(standbys == 1, "b asked: one standby")
        // Expired by hand: b takes it with 42; a's renewal of 41 is refused.
        try pg.psql("UPDATE robot_lease SET expires_at = now() - interval '1 second'")
        b.lease.submit(.acquire(floor: 0), id: 2)
        let r4 = try await b.reply(2)
        guard case .acquired(_, 42, _) = r4 else {
            Issue.record("\(r4)")
            return
        }
        a.lease.submit(.renew(fence: 41), id: 3)
        #expect(try await a.reply(3) == .notRenewed(id: 3))
        // The trigger refuses a fence that would go down, whoever writes it.
        #expect(throws: PostgresClusterError.self) { try pg.psql("UPDATE robot_lease SET fence = 3") }
        #expect(try pg.psql("SELECT fence FROM robot_lease") == "42")
    }
}
