/// A plain `http://host[:port][/path]` address, as the `alerting` section takes it.
///
/// Only plain HTTP: the watchdog posts from a thread of its own over a socket, with no TLS
/// library in the build. An Alertmanager or webhook elsewhere is reached through a TLS-terminating
/// proxy on this host (docs/CONFIG.md, "alerting"). The host is a name, a dotted IPv4 address or a
/// bracketed IPv6 address (`[::1]`).
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Starts with `/`; `/` when the address has none.
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "http://\(h):\(port)\(path)"
    }

    /// `path` with `suffix` appended (one `/` between them).
    public func appending(_ suffix: String) -> HTTPURL {
        var p = path
        while p.hasSuffix("/") { p.removeLast() }
        return HTTPURL(host: host, port: port, path: p + (suffix.hasPrefix("/") ? suffix : "/" + suffix))
    }

    /// Why `text` is not a plain HTTP address, or the address.
    public static func parse(_ text: String) -> Result<HTTPURL, ParseError> {
        if text.hasPrefix("https://") {
            return .failure(
                ParseError(
                    "https is not supported: the watchdog posts plain HTTP; put a TLS-terminating proxy on this host and give its http:// address"
                ))
        }
        guard text.hasPrefix("http://") else { return .failure(ParseError("expected an http:// address")) }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.contains("@") else { return .failure(ParseError("credentials in the address are not supported")) }
        guard path.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "?") }) else {
            return .failure(ParseError("the path may hold no spaces, query, fragment or non-ASCII characters"))
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(ParseError("an IPv6 host needs its closing ]")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ParseError("expected :port after the IPv6 host")) }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return .failure(ParseError("\"\(host)\" is not an IPv6 address"))
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty, host.utf8.count <= 253,
                host.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." })
            else {
                return .failure(ParseError("expected a host name or address after http://"))
            }
        }
        var port = 80
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                return .failure(ParseError("\"\(portText)\" is not a port (1 to 65535)"))
            }
            port = p
        }
        return .success(HTTPURL(host: String(host), port: port, path: path))
    }

    public struct ParseError: Error, Sendable, Equatable {
        public var detail: String
        init(_ detail: String) { self.detail = detail }
    }
}
