import Foundation
import RobotConfig
import TestSupport
import Testing

/// The `guard` section: local by default; postgresql with a URL without a password, an owner-only
/// password file, a bounded lease and a host identity; every refusal names the file, key and value.
@Suite struct GuardSettingsTests {
    func parse(_ section: String?, home: String = "/h") throws(ConfigError) -> GuardSettings {
        var text = #"{"markets": {"ES": {"execution": "", "streams": {"ES1": {"instrument": "ES"}}}}"#
        if let section { text += #", "guard": "# + section }
        text += "}"
        return try ConfigLoader.parse(Array(text.utf8), source: "robot.json", home: home).guardSettings
    }

    @Test func localByDefault() throws {
        #expect(try parse(nil) == GuardSettings())
        #expect(try parse("{}").backend == .local)
        #expect(GuardSettings().leaseSeconds == 3 && GuardSettings().host == nil)
    }

    @Test func everyKeyIsRead() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("pgpass", "secret\n")
        chmod(file, 0o600)
        let s = try parse(
            #"{"backend": "postgresql", "url": "postgresql://robot@db.internal:6432/trading", "password_file": "pgpass", "#
                + #""lease_seconds": 1.5, "host": "trader-a"}"#, home: folder.path)
        #expect(s.backend == .postgresql && s.leaseSeconds == 1.5 && s.host == "trader-a")
        #expect(
            s.database
                == GuardSettings.DatabaseURL(
                    user: "robot", host: "db.internal", port: 6432, database: "trading", text: "postgresql://robot@db.internal:6432/trading"
                ))
        #expect(s.passwordFile == folder.path + "/pgpass")
        let bare = try parse(#"{"backend": "postgresql"}"#)
        #expect(bare.database == nil && bare.passwordFile == nil, "the PG environment fills in")
        #expect(
            try GuardSettings.DatabaseURL.parse("postgres://[::1]/x").get()
                == GuardSettings.DatabaseURL(host: "::1", database: "x", text: "postgres://[::1]/x"))
    }

    @Test func aPasswordFileOthersMayReadIsRefusedNamingFileKeyAndMode() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let file = try folder.write("pgpass", "secret")
        chmod(file, 0o640)
        do {
            _ = try parse(#"{"backend": "postgresql", "password_file": "\#(file)"}"#)
            Issue.record("a group-readable password file was accepted")
        } catch {
            #expect(error.key == "guard.password_file", "\(error)")
            #expect("\(error)".contains("robot.json") && "\(error)".contains(file) && "\(error)".contains("mode 640"), "\(error)")
        }
        chmod(file, 0o600)
        #expect(try parse(#"{"backend": "postgresql", "password_file": "\#(file)"}"#).passwordFile == file)
    }

    @Test(arguments: [
        (#"{"backend": "etcd"}"#, "guard.backend", "expected \"local\""),
        (#"{"backend": "postgresql", "url": "postgresql://robot:pw@db/x"}"#, "guard.url", "a password in the URL is refused"),
        (#"{"backend": "postgresql", "url": "mysql://db/x"}"#, "guard.url", "expected postgresql://"),
        (#"{"backend": "postgresql", "url": "postgresql://db:99999/x"}"#, "guard.url", "1 to 65535"),
        (#"{"backend": "postgresql", "url": "postgresql://db/x?sslmode=require"}"#, "guard.url", "no query parameters"),
        (#"{"backend": "postgresql", "lease_seconds": 0.1}"#, "guard.lease_seconds", "0.3"),
        (#"{"backend": "postgresql", "host": "a b"}"#, "guard.host", "without spaces"),
        (#"{"backend": "postgresql", "password_file": "/nonexistent/pgpass"}"#, "guard.password_file", "cannot read it"),
        (#"{"url": "postgresql://db/x"}"#, "guard.backend", "for the postgresql backend"),
        (#"{"backend": "postgresql", "ttl": 3}"#, "guard.ttl", "unknown key"),
    ])
    func refusedWithTheKey(section: String, key: String, expected: String) {
        do {
            _ = try parse(section)
            Issue.record("\(section) was accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect("\(error)".contains(expected), "\(error)")
            #expect("\(error)".contains("robot.json"), "\(error)")
        }
    }
}
