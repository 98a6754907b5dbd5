import Platform
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The `guard` section: what keeps one executor per (account, market) (docs/CONFIG.md, docs/MULTIHOST.md).
///
/// ```json
/// "guard": {"backend": "postgresql", "url": "postgresql://robot@db.example:5432/robot",
///           "password_file": "/etc/robot-runtime/pgpass", "lease_seconds": 3, "host": "trader-a"}
/// ```
/// `local` (the default) is the host's flock guard alone. `postgresql` adds a lease in a database
/// that every host of the account shares; the local flock is still taken first (it stays the
/// host-level guard). No password in the file: `password_file` (readable by its owner only) or the
/// standard PostgreSQL environment (`PGPASSWORD`, and `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`
/// for what the URL leaves out).
public struct GuardSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, Equatable {
        case local
        case postgresql
    }

    public var backend: Backend = .local
    /// The database, when `backend` is `postgresql`; nil parts come from the PG environment.
    public var database: DatabaseURL?
    /// The file holding the database password (absolute, owner-only).
    public var passwordFile: String?
    /// How long a lease lasts without renewal; renewed every third of it.
    public var leaseSeconds: Double = 3
    /// This host's identity in the lease (`host`); nil: the host name.
    public var host: String?

    public init() {}

    static let keys = ["backend", "url", "password_file", "lease_seconds", "host"]

    /// A `postgresql://` URL: user, host, port and database; a password in it is refused.
    public struct DatabaseURL: Sendable, Equatable {
        public var user: String?
        public var host: String?
        public var port: Int?
        public var database: String?
        public var text: String

        public init(user: String? = nil, host: String? = nil, port: Int? = nil, database: String? = nil, text: String = "") {
            (self.user, self.host, self.port, self.database, self.text) = (user, host, port, database, text)
        }

        /// Why a URL is refused.
        public struct Problem: Error, Sendable, Equatable {
            public var why: String
        }

        /// The parts of `postgresql://[user@]host[:port][/database]`, or why `text` is not one.
        public static func parse(_ text: String) -> Result<DatabaseURL, Problem> {
            var rest: Substring
            if text.hasPrefix("postgresql://") {
                rest = text.dropFirst("postgresql://".count)
            } else if text.hasPrefix("postgres://") {
                rest = text.dropFirst("postgres://".count)
            } else {
                return .failure(Problem(why: "expected postgresql://[user@]host[:port][/database]"))
            }
            if rest.contains("?") {
                return .failure(Problem(why: "expected no query parameters (TLS and other options are not supported)"))
            }
            var url = DatabaseURL(text: text)
            if let slash = rest.firstIndex(of: "/") {
                let name = rest[rest.index(after: slash)...]
                if !name.isEmpty { url.database = String(name) }
                rest = rest[..<slash]
            }
            if let at = rest.lastIndex(of: "@") {
                let user = rest[..<at]
                if user.contains(":") {
                    return .failure(
                        Problem(why: "a password in the URL is refused; put it in guard.password_file (mode 0600) or PGPASSWORD"))
                }
                if !user.isEmpty { url.user = String(user) }
                rest = rest[rest.index(after: at)...]
            }
            if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
                guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                    return .failure(Problem(why: "the port is not a number from 1 to 65535"))
                }
                url.port = port
                rest = rest[..<colon]
            }
            if rest.hasPrefix("["), rest.hasSuffix("]") { rest = rest.dropFirst().dropLast() }
            if !rest.isEmpty { url.host = String(rest) }
            return .success(url)
        }
    }

    static func parse(_ top: inout ConfigReader, home: String) throws(ConfigError) -> GuardSettings {
        var s = GuardSettings()
        guard var r = try top.optionalObject("guard") else { return s }
        let backend = try r.optionalString("backend", default: "local")
        guard let b = Backend(rawValue: backend) else {
            throw r.error("backend", .string(backend), "expected \"local\" (flock on this host) or \"postgresql\" (a lease across hosts)")
        }
        s.backend = b
        s.leaseSeconds = try r.number("lease_seconds", default: s.leaseSeconds, in: 0.3...3600)
        if r.optional("host") != nil {
            let host = try r.string("host")
            guard !host.isEmpty, host.count <= 255, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw r.error("host", .string(host), "expected a host identity of 1 to 255 printable characters without spaces")
            }
            s.host = host
        }
        if r.optional("url") != nil {
            let text = try r.string("url")
            switch DatabaseURL.parse(text) {
            case .success(let url): s.database = url
            case .failure(let problem): throw r.error("url", .string(text), problem.why)
            }
        }
        if r.optional("password_file") != nil {
            var path = try r.string("password_file")
            if !path.hasPrefix("/") { path = home + "/" + path }
            try checkPasswordFile(path, reader: r)
            s.passwordFile = path
        }
        if s.backend == .local, s.database != nil || s.passwordFile != nil {
            throw r.error(
                "backend", .string(backend),
                "url and password_file are for the postgresql backend; set backend to \"postgresql\" or remove them")
        }
        try r.rejectUnknownKeys(keys)
        return s
    }

    /// The password file must exist, be a regular file and be readable by its owner only.
    static func checkPasswordFile(_ path: String, reader r: ConfigReader) throws(ConfigError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw r.error("password_file", .string(path), "cannot read it: \(SystemError("stat"))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw r.error("password_file", .string(path), "expected a regular file")
        }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw r.error(
                "password_file", .string(path),
                "it is readable or writable by group or others (mode \(String(mode, radix: 8))); chmod 600 it")
        }
    }
}
