import Guard
import Platform
import PostgresGuard
import ProcessShell
import RobotConfig

#if canImport(Glibc)
import Glibc
#endif

/// The lease client a worker runs under with `guard.backend: postgresql` (docs/MULTIHOST.md),
/// made at start-up after the local flock is held: the database named by `guard.url` and the
/// standard PostgreSQL environment, connected and its schema ensured before the worker runs.
///
/// At start: a database that refuses (wrong password, no such database, a newer schema) ends the
/// worker with exit status 78 and one line naming it; a database that does not answer does not:
/// the worker starts as a STANDBY with the reason `DATABASE_UNREACHABLE` and takes the lease when
/// the database answers (the supervisor and systemd see it running; its status says why it waits).
enum WorkerLease {
    /// What the start-up made: the client, and why the database did not answer yet (nil: it did).
    struct Prepared {
        var client: PostgresLeaseClient
        var unreachable: String?
    }

    /// This host's identity in the lease and the lock record: `guard.host`, else the host name.
    static func hostIdentity(_ config: Configuration) -> String { config.guardSettings.host ?? FileIO.hostName() }

    /// nil under the local backend.
    static func prepare(config: Configuration, environment: [String: String], market: String, runID: String)
        -> Result<Prepared?, StartupFailure<ExitStatus>>
    {
        let settings = config.guardSettings
        guard settings.backend == .postgresql else { return .success(nil) }
        let database: LeaseDatabase
        switch target(settings, environment: environment, source: config.source) {
        case .success(let d): database = d
        case .failure(let failure): return .failure(failure)
        }
        let identity = LeaseIdentity(
            account: config.account.name, market: market, host: hostIdentity(config), runID: runID, pid: getpid())
        let client = PostgresLeaseClient(
            database: database, identity: identity, leaseSeconds: settings.leaseSeconds,
            requestTimeoutSeconds: requestTimeout(settings.leaseSeconds))
        // At most 5 s: the supervisor (and systemd) wait 10 s by default for READY=1, which a
        // worker whose database does not answer still sends, as a STANDBY.
        switch client.prepare(seconds: min(5, requestTimeout(settings.leaseSeconds) * 2 + 1)) {
        case nil: return .success(Prepared(client: client, unreachable: nil))
        case .refused(let why)?:
            client.shutdown()
            return .failure(StartupFailure(.config, "\(config.source): guard: \(database.address): \(why)"))
        case .unreachable(let why)?:
            return .success(Prepared(client: client, unreachable: "\(database.address): \(why)"))
        }
    }

    /// A statement or connection attempt with no answer within the lease counts as unreachable
    /// (the holder's deadline has passed by then anyway).
    static func requestTimeout(_ leaseSeconds: Double) -> Double { max(0.2, leaseSeconds) }

    /// The database: `guard.url`, with what it leaves out from PGHOST, PGPORT, PGUSER, PGDATABASE;
    /// the password from `guard.password_file`, else PGPASSWORD.
    static func target(_ s: GuardSettings, environment env: [String: String], source: String)
        -> Result<LeaseDatabase, StartupFailure<ExitStatus>>
    {
        let url = s.database
        let host = url?.host ?? env["PGHOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        if host.hasPrefix("/") {
            return .failure(
                StartupFailure(.config, "\(source): guard: PGHOST \(host): a Unix socket folder is not supported; use a TCP host"))
        }
        var port = 5432
        if let p = url?.port {
            port = p
        } else if let text = env["PGPORT"], !text.isEmpty {
            guard let p = Int(text), (1...65535).contains(p) else {
                return .failure(StartupFailure(.config, "\(source): guard: PGPORT \(text): expected a port from 1 to 65535"))
            }
            port = p
        }
        let user = url?.user ?? env["PGUSER"].flatMap { $0.isEmpty ? nil : $0 } ?? currentUser()
        let name = url?.database ?? env["PGDATABASE"].flatMap { $0.isEmpty ? nil : $0 } ?? user
        var password: String?
        if let file = s.passwordFile {
            let bytes: [UInt8]?
            do { bytes = try FileIO.readFile(file, limit: 4096) } catch {
                return .failure(StartupFailure(.config, "\(source): guard.password_file \(file): cannot read it: \(error)"))
            }
            var text = String(decoding: bytes ?? [], as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            password = text
        } else if let p = env["PGPASSWORD"] {
            password = p
        }
        return .success(
            LeaseDatabase(
                host: host, port: port, user: user, password: password, database: name, shownAs: url?.text ?? "the PG environment"))
    }

    static func currentUser() -> String {
        guard let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name else { return "postgres" }
        return String(cString: name)
    }
}
