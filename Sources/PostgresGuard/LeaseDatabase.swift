/// Where the lease lives: a PostgreSQL server and the credentials to use, resolved from the
/// configuration's `guard` section and the standard PostgreSQL environment.
public struct LeaseDatabase: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// How the configuration named it, for messages (never the password).
    public var shownAs: String

    public init(host: String, port: Int, user: String, password: String?, database: String, shownAs: String) {
        (self.host, self.port, self.user, self.password, self.database, self.shownAs) = (host, port, user, password, database, shownAs)
    }

    /// `postgresql://user@host:port/database`, without the password.
    public var address: String { "postgresql://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }
}
