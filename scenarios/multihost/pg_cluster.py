"""A throwaway PostgreSQL 15 cluster for scenarios and benchmarks.

The Python twin of Tests/TestSupport/PostgresCluster.swift: `initdb` in a temporary folder, a
postmaster on a free loopback port, a test role `robot` that logs in with a password over TCP
(scram-sha-256) and owns the database `robot`. As root the server runs as the unprivileged system
user `robot-pgtest` (scripts/setup creates it; `nobody` without it), through setpriv(1). Never the
system service. fsync=off (a killed postmaster loses nothing the kernel holds) but
synchronous_commit=on (a confirmed commit survives kill() + restart()). Every process is ended by PID.

    with PgCluster() as pg:          # start() on enter, stop() on exit
        pg.url, pg.password_file     # what a robot.json names
        pg.kill(); pg.restart()
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = "/usr/lib/postgresql/15/bin"


def installed() -> bool:
    return os.access(os.path.join(BIN, "postgres"), os.X_OK)


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2]
    return state not in "ZX"


def children(pid: int) -> list[int]:
    """The PIDs whose parent is `pid` (from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(name))
    return found


class PgClusterError(Exception):
    pass


class PgCluster:
    user = "robot"
    database = "robot"
    admin_user = "robot_admin"

    def __init__(self, settings: dict[str, str] | None = None, prefix: str = "robot-pg"):
        if not installed():
            raise PgClusterError(f"{BIN}/postgres is missing: run scripts/setup")
        self.folder = tempfile.mkdtemp(prefix=prefix + ".")
        self.password = secrets.token_hex(16)
        self.settings = dict(settings or {})
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._initialized = False
        self._run_as = None
        if os.geteuid() == 0:
            for name in ("robot-pgtest", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                    self._run_as = (pw.pw_uid, pw.pw_gid)
                    break
                except KeyError:
                    continue
            if self._run_as is None:
                raise PgClusterError("no unprivileged user (robot-pgtest or nobody): run scripts/setup")

    # -- what clients need
    @property
    def data_dir(self) -> str:
        return os.path.join(self.folder, "data")

    @property
    def log_path(self) -> str:
        return os.path.join(self.folder, "postgres.log")

    @property
    def password_file(self) -> str:
        return os.path.join(self.folder, "password")

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def url_for_port(self, port: int) -> str:
        """The same database through another port (a proxy in front of it)."""
        return f"postgresql://{self.user}@127.0.0.1:{port}/{self.database}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- life cycle
    def __enter__(self) -> "PgCluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60) -> None:
        if self.proc is not None:
            raise PgClusterError(f"the cluster in {self.folder} is already running")
        deadline = time.monotonic() + timeout
        if not self._initialized:
            self._initdb()
            self.port = free_loopback_port()
        self._launch(deadline)
        if not self._initialized:
            self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'", database="postgres")
            self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}", database="postgres")
            self._initialized = True

    def kill(self, timeout: float = 30) -> None:
        """SIGKILL the postmaster by PID, then each server process it had started; wait until gone."""
        if self.proc is None:
            return
        kids = children(self.proc.pid)
        os.kill(self.proc.pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait_gone(kids, timeout)

    def restart(self, timeout: float = 60) -> None:
        """Fast shutdown if it runs, then start again on the same port and data."""
        if self.proc is not None:
            self._shut_down(timeout)
        self.start(timeout)

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGKILL after `timeout`), then remove the folder."""
        if self.proc is not None:
            try:
                self._shut_down(timeout)
            except PgClusterError:
                self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def signal_postmaster(self, sig: int) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, sig)

    def psql(self, sql: str, database: str | None = None) -> str:
        """`sql` as the superuser over the Unix socket; its output (unaligned, tuples only), stripped."""
        r = self._run(
            [f"{BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.folder, "-p", str(self.port),
             "-U", self.admin_user, "-d", database or self.database, "-c", sql])
        if r.returncode != 0:
            raise PgClusterError(f"psql exited {r.returncode}: {r.stderr}")
        return r.stdout.strip()

    def psql_over_tcp(self, sql: str, password: str, port: int | None = None, timeout: float = 5) -> subprocess.CompletedProcess:
        """`sql` as the test role over TCP (through `port` if given, a proxy)."""
        return self._run(
            [f"{BIN}/psql", "-X", "-q", "-A", "-t", "-w", "-h", "127.0.0.1", "-p", str(port or self.port), "-U", self.user,
             "-d", self.database, "-c", sql],
            env={"PGPASSWORD": password, "PGCONNECT_TIMEOUT": str(int(timeout))}, timeout=timeout + 5)

    # -- internals
    def _cmd(self, argv: list[str]) -> list[str]:
        if self._run_as is None:
            return argv
        uid, gid = self._run_as
        return ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"] + argv

    def _run(self, argv, env=None, run_as=False, timeout=60) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        full_env.update(env or {})
        return subprocess.run(self._cmd(argv) if run_as else argv, env=full_env, cwd="/", stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def _initdb(self) -> None:
        os.chmod(self.folder, 0o700)
        if self._run_as is not None:
            os.chown(self.folder, *self._run_as)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password)
        r = self._run([f"{BIN}/initdb", "-D", self.data_dir, "-U", self.admin_user, "-A", "trust", "--no-sync", "-E", "UTF8",
                       "--locale=C"], run_as=True)
        if r.returncode != 0:
            raise PgClusterError(f"initdb exited {r.returncode}: {r.stderr}")
        with open(os.path.join(self.data_dir, "pg_hba.conf"), "w") as f:
            f.write(f"local all {self.admin_user} trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        conf = {"listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.folder}'", "fsync": "off",
                "full_page_writes": "off", "synchronous_commit": "on", "password_encryption": "'scram-sha-256'",
                "logging_collector": "off", "log_min_messages": "warning", "shared_buffers": "32MB"}
        conf.update(self.settings)
        with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
            f.write("\n# robot-runtime test cluster\n")
            for k in sorted(conf):
                f.write(f"{k} = {conf[k]}\n")

    def _launch(self, deadline: float) -> None:
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self._cmd([f"{BIN}/postgres", "-D", self.data_dir, "-p", str(self.port)]),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/")
        finally:
            log.close()
        pid_file = os.path.join(self.data_dir, "postmaster.pid")
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise PgClusterError(f"postgres exited {code} while starting on port {self.port}: {self.log()}")
            try:
                with open(pid_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 8 and lines[0] == str(self.proc.pid) and lines[7].strip() == "ready":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise PgClusterError(f"postgres on port {self.port} was not ready in time: {self.log()}")
            time.sleep(0.01)

    def _shut_down(self, timeout: float) -> None:
        kids = children(self.proc.pid)
        os.kill(self.proc.pid, signal.SIGINT)
        self._wait_gone(kids, timeout)

    def _wait_gone(self, kids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None or any(is_alive(k) for k in kids):
            if time.monotonic() > deadline:
                raise PgClusterError(f"postgres (pid {self.proc.pid}) or its children still run")
            time.sleep(0.005)
        self.proc = None
