"""The Python test cluster (pg_cluster.py): same checks as Tests/EndToEndTests/PostgresClusterTests.swift."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import pg_cluster  # noqa: E402

pytestmark = pytest.mark.skipif(not pg_cluster.installed(), reason="needs PostgreSQL 15 (scripts/setup)")


def test_runs_unprivileged_and_the_role_logs_in_with_its_password_only():
    with pg_cluster.PgCluster() as pg:
        with open(f"/proc/{pg.pid}/status") as f:
            uid = next(line for line in f if line.startswith("Uid:")).split()[1]
        assert uid != "0"
        assert pg.url == f"postgresql://robot@127.0.0.1:{pg.port}/robot"
        ok = pg.psql_over_tcp("SELECT current_user", pg.password)
        assert ok.returncode == 0 and ok.stdout.strip() == "robot", ok
        wrong = pg.psql_over_tcp("SELECT 1", "wrong")
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr, wrong
        assert open(pg.password_file).read() == pg.password
        assert os.stat(pg.password_file).st_mode & 0o777 == 0o600
        assert pg.psql("SHOW synchronous_commit") == "on"
    assert not os.path.exists(pg.folder)


def test_kill_leaves_no_server_process_and_restart_recovers_committed_writes():
    with pg_cluster.PgCluster(settings={"max_connections": "250"}) as pg:
        assert pg.psql("SHOW max_connections") == "250"
        assert pg.psql_over_tcp("CREATE TABLE t(v int); INSERT INTO t VALUES (7)", pg.password).returncode == 0
        pid, port = pg.pid, pg.port
        kids = pg_cluster.children(pid)
        assert kids
        pg.kill()
        assert pg.pid is None and not pg_cluster.is_alive(pid)
        assert not any(pg_cluster.is_alive(k) for k in kids)
        refused = pg.psql_over_tcp("SELECT 1", pg.password)
        assert refused.returncode != 0 and "refused" in refused.stderr, refused
        pg.restart()
        assert pg.port == port and pg.pid != pid
        assert pg.psql_over_tcp("SELECT sum(v) FROM t", pg.password).stdout.strip() == "7"
        pg.restart()  # a running server: fast shutdown, then up again
        assert pg.psql("SELECT count(*) FROM t") == "1"


def test_a_second_start_is_an_error():
    with pg_cluster.PgCluster() as pg:
        with pytest.raises(pg_cluster.PgClusterError):
            pg.start()
