import Logging
import PostgresNIO

/// The lease's tables, created and migrated by the program itself (docs/MULTIHOST.md, "Schema").
///
/// `robot_runtime_schema` holds one row: the schema's version. `ensure` runs in one transaction
/// under a transaction-scoped advisory lock, so hosts starting together migrate once, one after
/// the other; it is idempotent. A database whose version is newer than `version` is refused: an
/// older program must not write rows whose meaning it does not know.
public enum LeaseSchema {
    /// The version this program writes.
    public static let version: Int32 = 1
    /// The NOTIFY channel of releases; the payload is `account/market`.
    public static let channel = "robot_lease"
    /// The advisory lock key that serializes migrations (an arbitrary constant: "robotlse").
    static let migrationLock: Int64 = 0x726f_626f_746c_7365

    /// The steps from version N-1 to N, by N.
    static let migrations: [Int32: [String]] = [
        1: [
            """
            CREATE TABLE IF NOT EXISTS robot_lease (
                account text NOT NULL,
                market text NOT NULL,
                fence bigint NOT NULL CHECK (fence > 0),
                holder_host text,
                holder_run_id text,
                holder_pid integer,
                acquired_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                PRIMARY KEY (account, market))
            """,
            """
            CREATE TABLE IF NOT EXISTS robot_lease_standby (
                account text NOT NULL,
                market text NOT NULL,
                run_id text NOT NULL,
                host text NOT NULL,
                seen_until timestamptz NOT NULL,
                PRIMARY KEY (account, market, run_id))
            """,
            """
            CREATE OR REPLACE FUNCTION robot_lease_fence_only_up() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.fence < OLD.fence THEN
                    RAISE EXCEPTION 'robot_lease %/%: the fence may not go down from % to %', OLD.account, OLD.market, OLD.fence, NEW.fence;
                END IF;
                RETURN NEW;
            END $$
            """,
            """
            CREATE OR REPLACE TRIGGER robot_lease_fence_only_up BEFORE UPDATE ON robot_lease
                FOR EACH ROW EXECUTE FUNCTION robot_lease_fence_only_up()
            """,
        ]
    ]

    /// Creates or migrates the schema to `version`; refuses a newer one (`LeaseFailure.refused`).
    static func ensure(on connection: PostgresConnection, logger: Logger, database: String) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS robot_runtime_schema (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version integer NOT NULL)
                """, logger: logger)
            var found: Int32 = 0
            for try await v in try await connection.query("SELECT version FROM robot_runtime_schema", logger: logger).decode(Int32.self) {
                found = v
            }
            if found > version {
                throw LeaseFailure.refused(
                    "\(database): the lease schema is at version \(found), newer than this program's \(version); "
                        + "upgrade robot-runtime on this host (an older program must not write rows it does not understand)")
            }
            if found < version {
                for step in (found + 1)...version {
                    for sql in migrations[step] ?? [] { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                }
                try await connection.query(
                    """
                    INSERT INTO robot_runtime_schema (singleton, version) VALUES (true, \(version))
                    ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version
                    """, logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
