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
/// through `deliver`, called on the client's loop thread (the worker posts it to a `ReactorInbox`).
/// A request that times out closes the connection, so a stalled network never keeps a request
/// pending; the next request connects again (and migrates the schema, and LISTENs again). NOTIFYs
/// of a release of this market arrive through `deliver` too.
///
/// The path of a request is short on purpose (docs/MULTIHOST.md, "A clean handover, step by
/// step"): `submit` hands it to the loop (an eventfd wake-up, no task hop), the statement goes out
/// on the open connection (TCP_NODELAY, NIO's default), its rows are decoded on the loop and the
/// reply is handed to `deliver` there; a NOTIFY is handed to `deliver` by postgres-nio's listener
/// callback, on the loop, as it is read. Only a request that finds no open connection takes the
/// slower way (connect, the schema, LISTEN) before its statement.
public final class PostgresLeaseClient: Sendable {
    public let identity: LeaseIdentity
    public let database: LeaseDatabase
    public let leaseSeconds: Double
    /// How long a connection attempt or a statement may take before it counts as unreachable.
    public let requestTimeoutSeconds: Double
    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    /// Swift tasks of the client (connecting, the schema, closing) run on `loop` too, never on the
    /// cooperative pool: a process whose pool threads are all busy (a test runner's) still connects.
    private let tasks: LoopTaskExecutor
    private let session: LeaseSession
    private let sink = ReplySink()

    public init(database: LeaseDatabase, identity: LeaseIdentity, leaseSeconds: Double, requestTimeoutSeconds: Double) {
        self.database = database
        self.identity = identity
        self.leaseSeconds = leaseSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        tasks = LoopTaskExecutor(loop)
        let sink = self.sink
        session = LeaseSession(
            database: database, identity: identity, leaseSeconds: leaseSeconds, timeout: requestTimeoutSeconds,
            eventLoop: loop, tasks: tasks, deliver: { reply in sink.target.withLock { $0 }?(reply) })
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
        let done = Completion<LeaseFailure?>()
        Task(executorPreference: tasks) {
            do {
                try await session.prepare()
                done.finish(nil)
            } catch {
                done.finish(LeaseSession.classify(error))
            }
        }
        return done.wait(seconds: limit) ?? .unreachable("no answer within \(limit) s")
    }

    /// Sends `request` (numbered `id`); the reply comes through `deliver`.
    public func submit(_ request: LeaseRequest, id: UInt64) {
        let session = self.session
        loop.execute { session.assumeIsolated { $0.run(request, id: id) } }
    }

    /// At stop (it blocks the caller, at most `seconds`): releases the lease held with `fence`
    /// and NOTIFYs the standbys. False when that could not be confirmed in time (the lease then
    /// expires by itself).
    public func releaseAndWait(fence: Int64, seconds: Double) -> Bool {
        let session = self.session
        let done = Completion<Bool>()
        loop.execute { session.assumeIsolated { $0.release(fence: fence) { failure in done.finish(failure == nil) } } }
        return done.wait(seconds: seconds) ?? false
    }

    /// Closes the connection and ends the thread. When the close does not finish within a second
    /// (a stalled network), the thread is left to end with the process: shutting its loop down
    /// under a pending close would fail the close's own promises.
    public func shutdown() {
        let session = self.session
        let done = Completion<Bool>()
        Task(executorPreference: tasks) {
            await session.close()
            done.finish(true)
        }
        guard done.wait(seconds: 1) != nil else { return }
        try? group.syncShutdownGracefully()
    }
}

/// A task executor that runs every job on one NIO event loop (`Task(executorPreference:)`): the
/// client's tasks, their child tasks and the nonisolated async code they call stay on its loop.
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

final class ReplySink: Sendable {
    let target = Mutex<(@Sendable (LeaseReply) -> Void)?>(nil)
}

/// A value another thread hands over once; the caller waits for it with a time limit.
final class Completion<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    func finish(_ v: Value) {
        value.withLock { $0 = v }
        done.signal()
    }

    /// The value, or nil when none came within `seconds`.
    func wait(seconds: Double) -> Value? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return value.withLock { $0 }
    }
}

/// The connection and everything done on it, on the client's own NIO event-loop thread (the
/// actor's executor is that loop, so `submit` runs a request on it directly, `assumeIsolated`).
/// The worker has at most one request in flight (`LeaseTerm`); at stop, the release.
actor LeaseSession {
    let database: LeaseDatabase
    let identity: LeaseIdentity
    let leaseSeconds: Double
    let timeout: Double
    let eventLoop: any EventLoop
    let tasks: LoopTaskExecutor
    let deliver: @Sendable (LeaseReply) -> Void
    private var connection: PostgresConnection?
    private var nextConnectionID = 0
    /// postgres-nio's own log lines are not ours: the worker reports what matters.
    private let logger = Logger(label: "robot-runtime.lease", factory: { _ in SwiftLogNoOpLogHandler() })

    nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }

    init(
        database: LeaseDatabase, identity: LeaseIdentity, leaseSeconds: Double, timeout: Double, eventLoop: any EventLoop,
        tasks: LoopTaskExecutor, deliver: @escaping @Sendable (LeaseReply) -> Void
    ) {
        (self.database, self.identity, self.leaseSeconds, self.timeout, self.eventLoop, self.tasks, self.deliver) = (
            database, identity, leaseSeconds, timeout, eventLoop, tasks, deliver
        )
    }

    func prepare() async throws { _ = try await connected() }

    /// Runs `request` on the open connection at once, or connects first.
    func run(_ request: LeaseRequest, id: UInt64) {
        if case .release(let fence) = request {
            release(fence: fence) { [deliver] failure in deliver(failure.map { .failed(id: id, $0) } ?? .released(id: id)) }
            return
        }
        withConnection(id: id) { session, c in session.statement(request, id: id, on: c) }
    }

    /// Releases the lease held with `fence` (one statement: the release, its NOTIFY at commit, and
    /// forgetting day-old standbys); `done` gets nil when it was confirmed.
    func release(fence: Int64, _ done: @escaping @Sendable (LeaseFailure?) -> Void) {
        let (q, logger, timeout) = (LeaseStatements.release(identity, fence: fence), self.logger, self.timeout)
        withConnection(failed: done) { _, c in
            Self.query(c, q, timeout: timeout, logger: logger, failed: done) { _ in done(nil) }
        }
    }

    func close() async {
        guard let c = connection else { return }
        connection = nil
        try? await c.close()
    }

    // MARK: statements, on the loop

    private nonisolated func statement(_ request: LeaseRequest, id: UInt64, on c: PostgresConnection) {
        let (identity, lease, logger, timeout, deliver) = (self.identity, leaseSeconds, self.logger, self.timeout, self.deliver)
        let failed: @Sendable (LeaseFailure) -> Void = { deliver(.failed(id: id, $0)) }
        switch request {
        case .acquire(let floor):
            Self.query(
                c, LeaseStatements.acquire(identity, floor: floor, leaseSeconds: lease), timeout: timeout, logger: logger, failed: failed
            ) {
                rows in
                if let row = rows.first {
                    let (fence, remaining) = try row.decode((Int64, Double).self)
                    deliver(.acquired(id: id, fence: fence, remainingSeconds: remaining))
                    return
                }
                // Someone else holds it: who, and this run counted as a standby.
                Self.query(c, LeaseStatements.holder(identity, leaseSeconds: lease), timeout: timeout, logger: logger, failed: failed) {
                    rows in
                    var holder: LeaseHolder?
                    if let row = rows.first {
                        let (host, run, pid, fence, remaining, standbys) = try row.decode(
                            (String, String, Int32, Int64, Double, Int64).self)
                        holder = LeaseHolder(
                            host: host, runID: run, pid: pid, fence: fence, remainingSeconds: remaining, standbys: Int(standbys) + 1)
                    }
                    deliver(.held(id: id, holder))
                }
            }
        case .renew(let fence):
            Self.query(
                c, LeaseStatements.renew(identity, fence: fence, leaseSeconds: lease), timeout: timeout, logger: logger, failed: failed
            ) {
                rows in
                if let row = rows.first {
                    let (remaining, standbys) = try row.decode((Double, Int64).self)
                    deliver(.renewed(id: id, remainingSeconds: remaining, standbys: Int(standbys)))
                } else {
                    deliver(.notRenewed(id: id))
                }
            }
        case .release:
            break // `run` releases
        }
    }

    /// Runs `q` on `c` and hands its rows to `then`, on the loop. Past the timeout the connection
    /// is closed (so the statement fails at once, whatever the network does) and `failed` says
    /// unreachable; a failure, or `then` throwing (a row that does not decode), goes to `failed`.
    private static func query(
        _ c: PostgresConnection, _ q: PostgresQuery, timeout: Double, logger: Logger, failed: @escaping @Sendable (LeaseFailure) -> Void,
        then: @escaping @Sendable (PostgresQueryResult) throws -> Void
    ) {
        let timedOut = NIOLoopBoundBox(false, eventLoop: c.eventLoop)
        let timer = c.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) {
            timedOut.value = true
            let _: EventLoopFuture<Void> = c.close()
        }
        c.query(q, logger: logger).whenComplete { result in
            timer.cancel()
            do {
                try then(try result.get())
            } catch {
                failed(timedOut.value ? classify(TimedOut()) : classify(error))
            }
        }
    }

    // MARK: the connection

    /// `body` with the open connection at once (on the loop); else after connecting, or `failed`.
    private func withConnection(
        failed: @escaping @Sendable (LeaseFailure) -> Void, _ body: @escaping @Sendable (LeaseSession, PostgresConnection) -> Void
    ) {
        if let c = connection, !c.isClosed {
            body(self, c)
            return
        }
        Task(executorPreference: tasks) {
            do {
                let c = try await self.connected()
                body(self, c)
            } catch {
                failed(Self.classify(error))
            }
        }
    }

    private func withConnection(id: UInt64, _ body: @escaping @Sendable (LeaseSession, PostgresConnection) -> Void) {
        withConnection(failed: { [deliver] in deliver(.failed(id: id, $0)) }, body)
    }

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
            try await Self.withTimeout(timeout) {
                try await LeaseSchema.ensure(on: c, logger: logger, database: self.database.address)
            } onTimeout: {
                try? await c.close()
            }
        } catch {
            try? await c.close()
            throw error
        }
        connection = c
        listen(on: c)
        return c
    }

    /// LISTENs on the release channel for as long as `c` lives: postgres-nio calls back on the
    /// loop as it reads a NOTIFY, and a release of this market goes to `deliver` at once. The
    /// LISTEN is queued on `c` before any statement a request sends on it, so a release that
    /// commits after that statement's snapshot is always notified.
    private nonisolated func listen(on c: PostgresConnection) {
        let (deliver, payload) = (self.deliver, identity.notifyPayload)
        c.addListener(channel: LeaseSchema.channel) { _, n in
            if n.payload == payload { deliver(.releasedByHolder) }
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
