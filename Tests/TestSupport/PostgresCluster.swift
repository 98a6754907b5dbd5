import Foundation
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL 15 cluster for one test: `initdb` in a temporary folder, a postmaster on a
/// free loopback port, a test role that logs in with a password over TCP (scram-sha-256, so a wrong
/// password is refused) and owns the database `robot`. PostgreSQL refuses to run as root, so as root
/// the server runs as the unprivileged system user `robot-pgtest` (scripts/setup creates it; `nobody`
/// without it) and owns the folder. Never the system service, never the default socket folder.
///
/// Settings for tests: `fsync=off` and `full_page_writes=off` (a killed postmaster loses nothing the
/// operating system holds; only a power loss would), but `synchronous_commit=on`: a commit the
/// client saw is in the WAL the kernel holds, so `kill()` then `restart()` never loses a confirmed
/// write (a lease's fence never goes back across a database crash in the tests).
///
/// Every process is ended by PID: `kill()` SIGKILLs the postmaster and then each of its children.
public final class PostgresCluster: @unchecked Sendable {
    public static let binDirectory = "/usr/lib/postgresql/15/bin"
    /// True when the PostgreSQL 15 server binaries are installed (scripts/setup installs them).
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binDirectory + "/postgres") }

    public let folder: TemporaryFolder
    /// The test role: logs in over TCP with `password`, owns `database`.
    public let user = "robot"
    public let password: String
    public let database = "robot"
    /// The superuser: trusted on the Unix socket in `folder` only (`psql(_:)` uses it).
    public let adminUser = "robot_admin"
    public private(set) var port: Int = 0
    /// The postmaster's PID while it runs.
    public private(set) var postmasterPID: pid_t?

    private var server: Process?
    private var initialized = false
    private let settings: [String: String]
    private let runAs: (uid: uid_t, gid: gid_t)?

    public var dataDirectory: String { folder.file("data") }
    /// The server's log (stderr), for a failing test's message.
    public var logPath: String { folder.file("postgres.log") }
    /// A connection URL without the password (it is in `passwordFile`).
    public var url: String { "postgresql://\(user)@127.0.0.1:\(port)/\(database)" }
    public var urlWithPassword: String { "postgresql://\(user):\(password)@127.0.0.1:\(port)/\(database)" }
    /// A file holding the password alone, mode 0600, owned by whoever runs the test.
    public var passwordFile: String { folder.file("password") }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// `settings` are extra `postgresql.conf` lines (for example `["max_connections": "700"]`).
    public init(settings: [String: String] = [:]) throws {
        guard Self.isInstalled else { throw PostgresClusterError("\(Self.binDirectory)/postgres is missing: run scripts/setup") }
        folder = try TemporaryFolder(prefix: "robot-pg")
        password = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        self.settings = settings
        runAs = geteuid() == 0 ? try Self.unprivilegedUser() : nil
    }

    deinit {
        if let pid = postmasterPID { killServer(pid) }
    }

    /// Runs `initdb` (the first time), starts the postmaster and waits until it accepts connections
    /// (its `postmaster.pid` says `ready`), polling with a deadline; then creates the test role and
    /// database (the first time). Picks a free loopback port the first time; keeps it afterwards.
    public func start(timeout: Double = 60) throws {
        guard postmasterPID == nil else { throw PostgresClusterError("the cluster in \(folder.path) is already running") }
        let deadline = Date().addingTimeInterval(timeout)
        if !initialized {
            try initialize()
            port = try Self.freeLoopbackPort()
        }
        try launch(deadline: deadline)
        if !initialized {
            try psql("CREATE ROLE \(user) LOGIN PASSWORD '\(password)'", database: "postgres")
            try psql("CREATE DATABASE \(database) OWNER \(user)", database: "postgres")
            initialized = true
        }
    }

    /// SIGKILLs the postmaster by PID, then every server process it had started (as a crash of the
    /// database host would), and waits until all are gone. The data stay: `restart()` recovers them.
    public func kill(timeout: Double = 30) throws {
        guard let pid = postmasterPID else { return }
        let children = Self.children(of: pid)
        Glibc.kill(pid, SIGKILL)
        for child in children { Glibc.kill(child, SIGKILL) }
        try waitGone(pid, children, timeout: timeout)
    }

    /// Stops the server if it runs (fast shutdown) and starts it again on the same port and data.
    public func restart(timeout: Double = 60) throws {
        if postmasterPID != nil { try shutDown(timeout: timeout) }
        try start(timeout: timeout)
    }

    /// Fast shutdown (SIGINT; SIGKILL if it has not ended within `timeout`), then removes the folder.
    public func stop(timeout: Double = 30) {
        if postmasterPID != nil { try? shutDown(timeout: timeout) }
        if let pid = postmasterPID { killServer(pid) }
        folder.remove()
    }

    /// Sends `signal` to the postmaster alone (SIGSTOP/SIGCONT to freeze the database, for example).
    public func signalPostmaster(_ signal: Int32) {
        if let pid = postmasterPID { Glibc.kill(pid, signal) }
    }

    /// Runs `sql` as the superuser over the Unix socket; what it printed (unaligned, tuples only), trimmed.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        let r = try Self.run(
            Self.binDirectory + "/psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", folder.path, "-p", "\(port)", "-U", adminUser,
                "-d", database ?? self.database, "-c", sql,
            ],
            environment: [:], scratch: folder)
        guard r.status == 0 else { throw PostgresClusterError("psql exited \(r.status): \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `sql` as the test role over TCP with `password` (through `port`, a proxy's, if given);
    /// the exit status, stdout and stderr.
    public func psqlOverTCP(
        _ sql: String, password: String, port: Int? = nil, connectTimeout: Int = 5
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try Self.run(
            Self.binDirectory + "/psql",
            ["-X", "-q", "-A", "-t", "-w", "-h", "127.0.0.1", "-p", "\(port ?? self.port)", "-U", user, "-d", database, "-c", sql],
            environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "\(connectTimeout)"], scratch: folder)
        return (r.status, r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), r.stderr)
    }

    // MARK: - The server

    private func initialize() throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder.path)
        if let runAs { guard chown(folder.path, runAs.uid, runAs.gid) == 0 else { throw PostgresClusterError("chown \(folder.path)") } }
        try folder.write("password", password)
        chmod(passwordFile, 0o600)
        let r = try Self.run(
            Self.binDirectory + "/initdb",
            ["-D", dataDirectory, "-U", adminUser, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            environment: [:], scratch: folder, runAs: runAs)
        guard r.status == 0 else { throw PostgresClusterError("initdb exited \(r.status): \(r.stderr)") }
        // The superuser on the socket only (in a folder only its owner can enter); everyone else
        // with a password over loopback TCP.
        try """
        local all \(adminUser) trust
        host all all 127.0.0.1/32 scram-sha-256
        """.write(toFile: dataDirectory + "/pg_hba.conf", atomically: false, encoding: .utf8)
        var conf = [
            "listen_addresses": "'127.0.0.1'", "unix_socket_directories": "'\(folder.path)'", "fsync": "off",
            "full_page_writes": "off", "synchronous_commit": "on", "password_encryption": "'scram-sha-256'",
            "logging_collector": "off", "log_min_messages": "warning", "shared_buffers": "32MB",
        ]
        for (k, v) in settings { conf[k] = v }
        let lines = conf.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: "\n")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n# robot-runtime test cluster\n" + lines + "\n").utf8))
        try handle.close()
    }

    private func launch(deadline: Date) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        let (exe, args) = Self.command(Self.binDirectory + "/postgres", ["-D", dataDirectory, "-p", "\(port)"], runAs: runAs)
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle(forWritingAtPath: logPath)
        p.standardError = FileHandle(forWritingAtPath: logPath)
        try p.run()
        server = p
        postmasterPID = p.processIdentifier
        // Ready when postmaster.pid's status line (the 8th) says so; a postmaster that exits early
        // (port taken, bad setting) fails at once with its log.
        while true {
            if !p.isRunning {
                postmasterPID = nil
                server = nil
                throw PostgresClusterError("postgres exited \(p.terminationStatus) while starting on port \(port): \(log)")
            }
            if let pidFile = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) {
                let lines = pidFile.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count >= 8, lines[0] == "\(p.processIdentifier)", lines[7].trimmingCharacters(in: .whitespaces) == "ready" {
                    return
                }
            }
            if Date() > deadline {
                killServer(p.processIdentifier)
                throw PostgresClusterError("postgres on port \(port) was not ready in time: \(log)")
            }
            usleep(10_000)
        }
    }

    private func shutDown(timeout: Double) throws {
        guard let pid = postmasterPID else { return }
        let children = Self.children(of: pid)
        Glibc.kill(pid, SIGINT)
        do { try waitGone(pid, children, timeout: timeout) } catch {
            killServer(pid)
            throw error
        }
    }

    private func killServer(_ pid: pid_t) {
        let children = Self.children(of: pid)
        Glibc.kill(pid, SIGKILL)
        for child in children { Glibc.kill(child, SIGKILL) }
        try? waitGone(pid, children, timeout: 10)
    }

    private func waitGone(_ pid: pid_t, _ children: [pid_t], timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while server?.isRunning == true || children.contains(where: Self.isAlive) {
            if Date() > deadline {
                throw PostgresClusterError("postgres (pid \(pid)) or its children \(children.filter(Self.isAlive)) still run")
            }
            usleep(5_000)
        }
        server = nil
        postmasterPID = nil
    }

    // MARK: - Helpers

    /// A process that exists and is not a zombie (an orphan's zombie may wait for a PID 1 that
    /// does not reap).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// The PIDs whose parent is `pid` (from /proc).
    public static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> pid_t? in
            guard let child = pid_t(name),
                let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    /// A loopback TCP port that was free a moment ago (bound to port 0, then closed).
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresClusterError("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw PostgresClusterError("bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func unprivilegedUser() throws -> (uid: uid_t, gid: gid_t) {
        for name in ["robot-pgtest", "nobody"] {
            if let pw = getpwnam(name) { return (pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        throw PostgresClusterError("no unprivileged user to run PostgreSQL as (robot-pgtest or nobody): run scripts/setup")
    }

    /// `executable arguments`, through setpriv(1) as the unprivileged user when there is one.
    private static func command(_ executable: String, _ arguments: [String], runAs: (uid: uid_t, gid: gid_t)?) -> (String, [String]) {
        guard let runAs else { return (executable, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=\(runAs.uid)", "--regid=\(runAs.gid)", "--clear-groups", "--", executable] + arguments)
    }

    /// Runs a command to its end; stdout and stderr through files in `scratch` (no pipe to fill).
    private static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], scratch: TemporaryFolder,
        runAs: (uid: uid_t, gid: gid_t)? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let tag = UUID().uuidString
        let out = scratch.file("cmd-\(tag).out")
        let err = scratch.file("cmd-\(tag).err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let p = Process()
        let (exe, args) = command(executable, arguments, runAs: runAs)
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("PG") { env.removeValue(forKey: key) }
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.currentDirectoryURL = URL(fileURLWithPath: "/")
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        p.waitUntilExit()
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (p.terminationStatus, read(out), read(err))
    }
}

/// What went wrong starting, stopping or querying a test cluster.
public struct PostgresClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
