/// How the dashboard answers a request line, decided before any I/O (pure, so it is tested
/// without a socket): the path, the method and, when a token is configured, the bearer token.
///
/// ```
/// GET /                 the page (HTML)         GET /api/status      the status document (JSON)
/// GET /dashboard.css    its style sheet         GET /api/health      the watchdog's liveness (JSON)
/// GET /dashboard.js     its script              GET /api/supervisor  the supervisor's status (JSON)
///                                               GET /api/stream      server-sent events
/// ```
/// Any other method: 405 (`Allow: GET`). Any other path: 404. With a token configured, a request
/// without `Authorization: Bearer <token>` gets 401 before anything else is looked at.
public enum DashboardRoute: Sendable, Equatable {
    case page, stylesheet, script, status, health, supervisor, stream
    case unauthorized
    case methodNotAllowed
    case notFound

    public static func decide(method: String, uri: String, authorization: String?, token: String?) -> DashboardRoute {
        if let token, !authorized(authorization, token: token) { return .unauthorized }
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        let route: DashboardRoute
        switch path {
        case "/", "/index.html": route = .page
        case "/dashboard.css": route = .stylesheet
        case "/dashboard.js": route = .script
        case "/api/status": route = .status
        case "/api/health": route = .health
        case "/api/supervisor": route = .supervisor
        case "/api/stream": route = .stream
        default: return .notFound
        }
        return method == "GET" ? route : .methodNotAllowed
    }

    /// `Bearer <token>`, compared in time independent of where the first difference is.
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header else { return false }
        let prefix = "Bearer "
        guard header.utf8.count > prefix.utf8.count, header.lowercased().hasPrefix("bearer ") else { return false }
        let given = Array(header.utf8.dropFirst(prefix.utf8.count))
        let wanted = Array(token.utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for i in 0..<wanted.count { difference |= wanted[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
