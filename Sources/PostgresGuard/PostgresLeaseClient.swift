import Dispatch
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The lease's client: one PostgreSQL connection of its own, on one NIO event-loop thread of its
/// own, never on the worker's reactor (docs/ARCHITECTURE.md, "The worker's lease client").
///
/// The reactor `submit`s a numbered `LeaseRequest` and goes on; the answer (or a failure: no
/// answer within `requestTimeoutSeconds`, the connection closed, the database refused) comes back
/// through `deliver`, called on a thread that is not the reactor's (the worker posts it to a
/// `ReactorInbox`). A request that times out closes the connection, so a stalled network never
/// keeps a request pending; the next request connects again (and migrates the schema, and
/// LISTENs again). NOTIFYs of a release of this market arrive through `deliver` too.
public final class PostgresLeaseClient: Sendable {
    public let identity: LeaseIdentity
    public let database: LeaseDatabase
    public let leaseSeconds: Double
    /// How long a connection attempt or a statement may take before it counts as unreachable.
    public let requestTimeoutSeconds: Double
    private let group: MultiThreadedEventLoopGroup
    private let session: LeaseSession
    private let sink = ReplySink()

    public init(database: LeaseDatabase, identity: LeaseIdentity, leaseSeconds: Double, requestTimeoutSeconds: Double) {
        self.database = database
        self.identity = identity
        self.leaseSeconds = leaseSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let sink = self.sink
        session = LeaseSession(
            database: database, identity: identity, leaseSeconds: leaseSeconds, timeout: requestTimeoutSeconds,
            eventLoop: group.next(), deliver: { reply in sink.target.withLock { $0 }?(reply) })
    }

    /// Where replies go from now on (called from a thread that is not the reactor's); before
    /// this, they are dropped.
    public func deliver(to target: @escaping @Sendable (LeaseReply) -> Void) { sink.target.withLock { $0 = target } }

    /// Start-up only (it blocks the caller): connects and creates or migrates the schema. nil
    /// when the database is ready; else why not (`refused` for good, `unreachable` for now).
    /// It waits at most `seconds` (default: long enough for a connection and the migration).
    public func prepare(seconds: Double? = nil) -> LeaseFailure? {
        let session = self.session
        let limit = seconds ?? requestTimeoutSeconds * 2 + 1
        return Self.wait(seconds: limit) { try await session.prepare() } ?? .unreachable("no answer within \(limit) s")
    }

    /// Sends `request` (numbered `id`); the reply comes through `deliver`.
    public func submit(_ request: LeaseRequest, id: UInt64) {
        let session = self.session
        Task { await session.run(request, id: id) }
    }

    /// At stop (it blocks the caller, at most `seconds`): releases the lease held with `fence`
    /// and NOTIFYs the standbys. False when that could not be confirmed in time (the lease then
    /// expires by itself).
    public func releaseAndWait(fence: Int64, seconds: Double) -> Bool {
        let session = self.session
        return Self.wait(seconds: seconds) { try await session.release(fence: fence) } == .some(nil)
    }

    /// Closes the connection and ends the thread. When the close does not finish within a second
    /// (a stalled network), the thread is left to end with the process: shutting its loop down
    /// under a pending close would fail the close's own promises.
    public func shutdown() {
        let session = self.session
        guard Self.wait(seconds: 1, { await session.close() }) != nil else { return }
        try? group.syncShutdownGracefully()
    }

    /// Runs `body` on the cooperative pool and waits for it at most `seconds`: `.some(nil)` when
    /// it finished without failing, `.some(failure)` when it failed, nil when it did not finish.
    private static func wait(seconds: Double, _ body: @escaping @Sendable () async throws -> Void) -> LeaseFailure?? {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<LeaseFailure??>(nil)
        Task {
            do {
                try await body()
                result.withLock { $0 = .some(nil) }
            } catch {
                result.withLock { $0 = .some(LeaseSession.classify(error)) }
            }
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result.withLock { $0 }
    }
}

final class ReplySink: Sendable {
    let target = Mutex<(@Sendable (LeaseReply) -> Void)?>(nil)
}

/// The connection and everything done on it, one request at a time, on the client's own NIO
/// event-loop thread (the actor's executor is that loop).
actor LeaseSession {
    let database: LeaseDatabase
    let identity: LeaseIdentity
    let leaseSeconds: Double
    let timeout: Double
    let eventLoop: any EventLoop
    let deliver: @Sendable (LeaseReply) -> Void
    private var connection: PostgresConnection?
    private var nextConnectionID = 0
    /// postgres-nio's own log lines are not ours: the worker reports what matters.
    private let logger = Logger(label: "robot-runtime.lease", factory: { _ in SwiftLogNoOpLogHandler() })

    nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }

    init(
        database: LeaseDatabase, identity: LeaseIdentity, leaseSeconds: Double, timeout: Double, eventLoop: any EventLoop,
        deliver: @escaping @Sendable (LeaseReply) -> Void
    ) {
        (self.database, self.identity, self.leaseSeconds, self.timeout, self.eventLoop, self.deliver) = (
            database, identity, leaseSeconds, timeout, eventLoop, deliver
        )
    }

    func prepare() async throws { _ = try await connected() }

    func run(_ request: LeaseRequest, id: UInt64) async {
        do {
            switch request {
            case .acquire(let floor):
                let c = try await connected()
                let got = try await bounded(c) { c in
                    var out: (Int64, Double)?
                    for try await row in try await c.query(
                        LeaseStatements.acquire(self.identity, floor: floor, leaseSeconds: self.leaseSeconds), logger: self.logger
                    ).decode((Int64, Double).self) { out = row }
                    return out
                }
                if let (fence, remaining) = got {
                    deliver(.acquired(id: id, fence: fence, remainingSeconds: remaining))
                    return
                }
                let holder = try await bounded(c) { c in
                    var out: LeaseHolder?
                    for try await (host, run, pid, fence, remaining, standbys) in try await c.query(
                        LeaseStatements.holder(self.identity, leaseSeconds: self.leaseSeconds), logger: self.logger
                    ).decode((String, String, Int32, Int64, Double, Int64).self) {
                        out = LeaseHolder(
                            host: host, runID: run, pid: pid, fence: fence, remainingSeconds: remaining, standbys: Int(standbys) + 1)
                    }
                    return out
                }
                deliver(.held(id: id, holder))
            case .renew(let fence):
                let c = try await connected()
                let got = try await bounded(c) { c in
                    var out: (Double, Int64)?
                    for try await row in try await c.query(
                        LeaseStatements.renew(self.identity, fence: fence, leaseSeconds: self.leaseSeconds), logger: self.logger
                    ).decode((Double, Int64).self) { out = row }
                    return out
                }
                if let (remaining, standbys) = got {
                    deliver(.renewed(id: id, remainingSeconds: remaining, standbys: Int(standbys)))
                } else {
                    deliver(.notRenewed(id: id))
                }
            case .release(let fence):
                try await release(fence: fence)
                deliver(.released(id: id))
            }
        } catch {
            deliver(.failed(id: id, Self.classify(error)))
        }
    }

    func release(fence: Int64) async throws {
        let c = try await connected()
        try await bounded(c) { c in
            try await c.query(LeaseStatements.release(self.identity, fence: fence), logger: self.logger)
            try await c.query(LeaseStatements.forgetOldStandbys, logger: self.logger)
        }
    }

    func close() async {
        guard let c = connection else { return }
        connection = nil
        try? await c.close()
    }

    // MARK: the connection

    /// The open connection, or a new one: connected, the schema ensured, LISTENing.
    private func connected() async throws -> PostgresConnection {
        if let c = connection, !c.isClosed { return c }
        if let old = connection {
            connection = nil
            try? await old.close()
        }
        var configuration = PostgresConnection.Configuration(
            host: database.host, port: database.port, username: database.user, password: database.password,
            database: database.database, tls: .disable)
        configuration.options.connectTimeout = .milliseconds(Int64(timeout * 1000))
        nextConnectionID += 1
        let id = nextConnectionID
        let (eventLoop, logger, settings) = (self.eventLoop, self.logger, configuration)
        let c = try await Self.withTimeout(timeout) {
            try await PostgresConnection.connect(on: eventLoop, configuration: settings, id: id, logger: logger)
        } onTimeout: {
        }
        do {
            try await bounded(c) { c in try await LeaseSchema.ensure(on: c, logger: logger, database: self.database.address) }
        } catch {
            try? await c.close()
            throw error
        }
        connection = c
        listen(on: c)
        return c
    }

    /// LISTENs on the release channel for as long as `c` lives; a release of this market (from
    /// another host's clean stop) is delivered at once.
    private nonisolated func listen(on c: PostgresConnection) {
        let (deliver, payload, logger) = (self.deliver, identity.notifyPayload, self.logger)
        Task {
            try? await c.listen(on: LeaseSchema.channel) { notifications in
                deliver(.listening)
                for try await n in notifications where n.payload == payload { deliver(.releasedByHolder) }
            }
            _ = logger
        }
    }

    /// Runs `body` on `c`; past the timeout the connection is closed (so the statement fails at
    /// once, whatever the network does) and the request fails as unreachable.
    private func bounded<T: Sendable>(_ c: PostgresConnection, _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws -> T
    {
        do {
            return try await Self.withTimeout(timeout) {
                try await body(c)
            } onTimeout: {
                try? await c.close()
            }
        } catch {
            if c.isClosed, connection === c { connection = nil }
            throw error
        }
    }

    struct TimedOut: Error {}

    private static func withTimeout<T: Sendable>(
        _ seconds: Double, _ body: @escaping @Sendable () async throws -> T, onTimeout: @escaping @Sendable () async -> Void
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw TimedOut() }
            if let value = first { return value }
            await onTimeout()
            throw TimedOut()
        }
    }

    /// Why a request failed: `refused` when an operator must act, else `unreachable`.
    static func classify(_ error: any Error) -> LeaseFailure {
        if let f = error as? LeaseFailure { return f }
        if error is TimedOut { return .unreachable("no answer in time (the request timed out; the connection was closed)") }
        if let p = error as? PSQLError {
            if p.code == .server, let state = p.serverInfo?[.sqlState] {
                let message = p.serverInfo?[.message] ?? ""
                if state.hasPrefix("28") {
                    return .refused(
                        "authentication failed (SQLSTATE \(state): \(message)); check the user in guard.url and the password in "
                            + "guard.password_file or PGPASSWORD")
                }
                if state == "3D000" { return .refused("the database does not exist (SQLSTATE \(state): \(message))") }
                if state == "42501" { return .refused("permission denied (SQLSTATE \(state): \(message))") }
                return .unreachable("SQLSTATE \(state): \(message)")
            }
            if p.code == .authMechanismRequiresPassword {
                return .refused("the server asks for a password and none is configured (guard.password_file or PGPASSWORD)")
            }
            return .unreachable("\(p.code)" + (p.underlying.map { ": \($0)" } ?? ""))
        }
        return .unreachable("\(error)")
    }
}
