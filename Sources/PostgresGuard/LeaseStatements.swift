import PostgresNIO

/// The lease's statements (docs/MULTIHOST.md, "How the lease cannot interleave badly").
///
/// Each is one statement in its own transaction (autocommit), at PostgreSQL's default READ
/// COMMITTED isolation. What makes them safe is the row lock: `INSERT ... ON CONFLICT DO UPDATE`
/// and `UPDATE` lock the (account, market) row, and a second writer waits for the first to commit
/// and then re-evaluates its `WHERE` on the row as committed (not on its snapshot). So of two
/// acquirers of an expired lease, the second sees the first one's new expiry and gets no row;
/// of two inserting a missing row, the second waits on the primary key and takes the update path.
/// `now()` is the start of the statement's transaction: a statement that waited for a lock
/// judges expiry on an earlier clock reading, which only makes it less likely to take over.
/// The expiry is computed by the database's clock, never a host's.
enum LeaseStatements {
    /// Takes the lease when free (released, expired or missing) or already this run's, with a
    /// fence above both the row's and `floor`; no row back when someone else holds it.
    static func acquire(_ id: LeaseIdentity, floor: Int64, leaseSeconds: Double) -> PostgresQuery {
        """
        INSERT INTO robot_lease AS l (account, market, fence, holder_host, holder_run_id, holder_pid, acquired_at, expires_at)
        VALUES (\(id.account), \(id.market), \(floor) + 1, \(id.host), \(id.runID), \(id.pid), now(),
                now() + \(leaseSeconds) * interval '1 second')
        ON CONFLICT (account, market) DO UPDATE
        SET fence = GREATEST(l.fence, \(floor)) + 1, holder_host = EXCLUDED.holder_host, holder_run_id = EXCLUDED.holder_run_id,
            holder_pid = EXCLUDED.holder_pid, acquired_at = now(), expires_at = EXCLUDED.expires_at
        WHERE l.expires_at <= now() OR l.holder_run_id IS NULL OR l.holder_run_id = EXCLUDED.holder_run_id
        RETURNING l.fence, EXTRACT(EPOCH FROM l.expires_at - now())::float8
        """
    }

    /// Who holds the lease (after an acquire that got no row), and records the asker as a
    /// standby until two lease periods from now. The count leaves out the holder and the asker.
    static func holder(_ id: LeaseIdentity, leaseSeconds: Double) -> PostgresQuery {
        """
        WITH seen AS (
            INSERT INTO robot_lease_standby (account, market, run_id, host, seen_until)
            VALUES (\(id.account), \(id.market), \(id.runID), \(id.host), now() + \(2 * leaseSeconds) * interval '1 second')
            ON CONFLICT (account, market, run_id) DO UPDATE SET seen_until = EXCLUDED.seen_until, host = EXCLUDED.host)
        SELECT coalesce(l.holder_host, ''), coalesce(l.holder_run_id, ''), coalesce(l.holder_pid, 0), l.fence,
               EXTRACT(EPOCH FROM l.expires_at - now())::float8,
               (SELECT count(*) FROM robot_lease_standby s
                 WHERE s.account = l.account AND s.market = l.market AND s.seen_until > now()
                   AND s.run_id IS DISTINCT FROM l.holder_run_id AND s.run_id <> \(id.runID))
        FROM robot_lease l WHERE l.account = \(id.account) AND l.market = \(id.market)
        """
    }

    /// Extends the lease while the row still names this run and fence and has not expired; the
    /// standbys seen within the last two lease periods come back with it.
    static func renew(_ id: LeaseIdentity, fence: Int64, leaseSeconds: Double) -> PostgresQuery {
        """
        WITH r AS (
            UPDATE robot_lease SET expires_at = now() + \(leaseSeconds) * interval '1 second'
            WHERE account = \(id.account) AND market = \(id.market) AND fence = \(fence) AND holder_run_id = \(id.runID)
              AND expires_at > now()
            RETURNING EXTRACT(EPOCH FROM expires_at - now())::float8 AS remaining)
        SELECT r.remaining,
               (SELECT count(*) FROM robot_lease_standby s
                 WHERE s.account = \(id.account) AND s.market = \(id.market) AND s.seen_until > now() AND s.run_id <> \(id.runID))
        FROM r
        """
    }

    /// Releases the lease held with `fence` (the row keeps the fence) and notifies the standbys,
    /// at commit, on `LeaseSchema.channel`; in the same statement (one round trip), forgets
    /// standbys not seen for a day (a data-modifying `WITH` runs whether or not it is read).
    static func release(_ id: LeaseIdentity, fence: Int64) -> PostgresQuery {
        """
        WITH r AS (
            UPDATE robot_lease SET holder_host = NULL, holder_run_id = NULL, holder_pid = NULL, expires_at = now()
            WHERE account = \(id.account) AND market = \(id.market) AND fence = \(fence) AND holder_run_id = \(id.runID)
            RETURNING account, market),
        forgotten AS (DELETE FROM robot_lease_standby WHERE seen_until < now() - interval '1 day')
        SELECT pg_notify(\(LeaseSchema.channel), r.account || '/' || r.market) FROM r
        """
    }
}
