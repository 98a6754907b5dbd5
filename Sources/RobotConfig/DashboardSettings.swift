import Wire

#if canImport(Glibc)
import Glibc
#endif

/// The `dashboard` section: the watchdog's live status page (docs/CONFIG.md, docs/watchdog.md).
///
/// ```json
/// "dashboard": {"enabled": true, "host": "127.0.0.1", "port": 9480}
/// "dashboard": {"enabled": true, "host": "0.0.0.0", "port": 9480, "token_file": "/etc/robot/dashboard.token"}
/// ```
/// Absent: off. `host` is an IP address literal; anything but loopback (127.0.0.0/8, ::1) needs
/// `token_file`, whose content is the bearer token every request must carry. The port must differ
/// from every `metrics` port. The token file itself is read by the watchdog when it starts
/// (`readToken`), never by the other programs that load the same configuration.
public struct DashboardSettings: Sendable, Equatable {
    public var enabled = false
    public var host = "127.0.0.1"
    public var port = 9480
    /// Absolute path (resolved against the home folder), or nil for no token.
    public var tokenFile: String?
    /// The configuration file the section came from, for errors about the token file.
    public var source = ""

    public init() {}

    static let keys = ["enabled", "host", "port", "token_file"]

    /// The shortest token accepted: a guessable token is no protection.
    public static let minimumTokenBytes = 16

    static func parse(_ top: inout ConfigReader, home: String, metrics: MetricsSettings) throws(ConfigError) -> DashboardSettings {
        var s = DashboardSettings()
        s.source = top.file
        guard var r = try top.optionalObject("dashboard") else { return s }
        if let v = r.optional("enabled") {
            guard case .bool(let b) = v else { throw r.error("enabled", v, "expected true or false") }
            s.enabled = b
        }
        s.host = try r.optionalString("host", default: s.host)
        guard isIPAddress(s.host) else {
            throw r.error("host", .string(s.host), "expected an IP address to listen on (127.0.0.1, ::1, 0.0.0.0, an address of this host)")
        }
        s.port = try r.integer("port", default: s.port, in: 1...65535)
        let taken =
            [("watchdog", metrics.watchdogPort), ("supervisor", metrics.supervisorPort)]
            + metrics.workerPorts.map { ("\($0.key) worker", $0.value) }
        if let clash = taken.first(where: { $0.1 == s.port }) {
            throw r.error(
                "port", .int(Int64(s.port)), "port \(s.port) is already the \(clash.0)'s metrics port; give the dashboard its own port")
        }
        if let v = r.optional("token_file") {
            guard case .string(let raw) = v, !raw.isEmpty, !raw.utf8.contains(0) else {
                throw r.error("token_file", v, "expected a file path")
            }
            s.tokenFile = ConfigLoader.normalize(raw.hasPrefix("/") ? raw : home + "/" + raw)
        }
        if !MetricsSettings.isLoopback(s.host), s.tokenFile == nil {
            throw r.error(
                "host", .string(s.host),
                "a non-loopback address needs \"token_file\" (a file of mode 0600 holding the bearer token): the page is never served beyond this host without one"
            )
        }
        try r.rejectUnknownKeys(keys)
        return s
    }

    /// An IPv4 dotted quad or an IPv6 literal (what NIO binds without a name lookup).
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// The bearer token from `token_file` (nil when there is none), read when the watchdog starts.
    /// Refused, with the configuration file, `dashboard.token_file` and the path named: a file that
    /// cannot be read, that is not a regular file, that its group or others may read or write
    /// (mode must be 0600 or 0400), or whose token (surrounding whitespace trimmed) is shorter than
    /// `minimumTokenBytes` or not printable ASCII.
    public func readToken() throws(ConfigError) -> String? {
        guard let path = tokenFile else { return nil }
        func refuse(_ why: String) -> ConfigError {
            ConfigError(file: source, key: "dashboard.token_file", value: JSONValue.string(path).jsonText, expected: why)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw refuse("cannot open the token file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw refuse("the token file is not a regular file") }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw refuse(
                "the token file is mode 0\(String(mode, radix: 8)): its group or others may read it; chmod 600 it (only the watchdog's user may read the token)"
            )
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= 4096 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw refuse("cannot read the token file: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        let token = Self.trimmed(bytes)
        guard token.count >= Self.minimumTokenBytes, token.count <= 4096, token.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw refuse("expected one token of \(Self.minimumTokenBytes) to 4096 printable ASCII characters without spaces")
        }
        return String(decoding: token, as: UTF8.self)
    }

    static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        var s = bytes[...]
        while let f = s.first, space(f) { s = s.dropFirst() }
        while let l = s.last, space(l) { s = s.dropLast() }
        return s
    }
}
