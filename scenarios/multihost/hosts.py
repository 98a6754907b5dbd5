""""Hosts" on one machine for the multi-host scenarios and the failover benchmark (docs/MULTIHOST.md).

A Host is a stack of its own: a home folder, a configuration with `guard.backend: "postgresql"`,
its own `guard.host` identity and host-wide guard folder (ROBOT_GUARD_DIR), its own watchdog, and
either a supervisor (which runs one worker per market and restarts them) or workers started one
by one (`start_worker`). Every host of a run shares the account and one database, reached directly
or through a TcpProxy of its own (tcp_proxy.py), which is how a host is partitioned.

Every process a Host starts is ended by PID (its own, and the workers its supervisor started,
found by their command line naming this host's configuration).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "chaos"))
import oracle  # noqa: E402  (scenarios/chaos/oracle.py)

MARKETS = [("ES", "MES"), ("NQ", "MNQ"), ("CL", "MCL"), ("YM", "MYM"), ("RTY", "M2K"), ("GC", "MGC")]

ENV_DROP = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "ROBOT_CONFIG", "ROBOT_HOME",
            "JOURNAL_STREAM", "ROBOT_JOURNAL_SOCKET", "ROBOT_SUPERVISOR_PID", "PGPASSWORD", "PGHOST", "PGPORT", "PGUSER",
            "PGDATABASE"]


def market_list(n):
    """The first `n` markets: [(market, execution symbol)]; beyond the six named ones, M7, M8, ..."""
    named = MARKETS[:n]
    return named + [(f"M{i}", f"X{i}") for i in range(len(named) + 1, n + 1)]


def config(markets, name, db_port, password_file, lease_seconds, backend="postgresql", fast=True):
    """A robot.json for one host. `fast`: short heartbeats and supervisor timings (the chaos run's)."""
    cfg = {
        "instrument_map": {e: m for m, e in markets},
        "markets": {m: {"execution": e, "streams": {f"{m}1": {"instrument": m}}} for m, e in markets},
        "guard": {"backend": backend, "host": name},
    }
    if backend == "postgresql":
        cfg["guard"].update({"url": f"postgresql://robot@127.0.0.1:{db_port}/robot", "password_file": password_file,
                             "lease_seconds": lease_seconds})
    else:
        del cfg["guard"]["host"]
    if fast:
        cfg.update({
            "timings": {"heartbeat_interval_seconds": 0.1, "invariants_interval_seconds": 0.05,
                        "heartbeat_late_intervals": 2, "heartbeat_lost_seconds": 1.0},
            "watchdog": {"hello_timeout_seconds": 2, "snapshot_interval_seconds": 0.05},
            "worker": {"reconnect_max_seconds": 0.2},
            "supervisor": {"watchdog_seconds": 2, "watchdog_kill_grace_seconds": 0.3, "start_timeout_seconds": 10,
                           "stop_timeout_seconds": 2, "min_uptime_seconds": 0.3, "backoff_initial_seconds": 0.05,
                           "backoff_max_seconds": 0.5, "backoff_multiplier": 2, "max_restarts": 10000,
                           "restart_window_seconds": 60},
        })
    return cfg


class Host:
    def __init__(self, name, base, bin_dir, markets, db_port, password_file, lease_seconds=3.0, backend="postgresql",
                 fast=True):
        self.name = name
        self.home = os.path.join(base, name)
        os.makedirs(self.home, exist_ok=True)
        self.bin = os.path.abspath(bin_dir)
        self.markets = [m for m, _ in markets]
        self.config_path = os.path.join(self.home, "robot.json")
        self.lease_seconds = lease_seconds
        with open(self.config_path, "w") as f:
            json.dump(config(markets, name, db_port, password_file, lease_seconds, backend, fast), f, indent=1)
        self.watchdog = None
        self.supervisor = None
        self.workers = {}  # market -> Popen (workers started by hand)
        self.started = []
        self.journals = oracle.JournalCache()

    # -- processes
    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
        env["ROBOT_GUARD_DIR"] = os.path.join(self.home, "host-guard")
        return env

    def spawn(self, program, args=("run",)):
        out = open(os.path.join(self.home, f"{program}.log"), "a")
        p = subprocess.Popen([os.path.join(self.bin, program)] + list(args) + ["--config", self.config_path, "--home", self.home],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env(), start_new_session=True)
        out.close()
        self.started.append(p)
        return p

    def cli(self, program, args, timeout=20):
        try:
            r = subprocess.run([os.path.join(self.bin, program)] + list(args) + ["--config", self.config_path, "--home", self.home],
                               capture_output=True, text=True, timeout=timeout, env=self.env())
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return -1, "", "timeout"

    def start_watchdog(self):
        self.watchdog = self.spawn("watchdog")
        return self.watchdog

    def start_supervisor(self):
        self.supervisor = self.spawn("supervisor")
        return self.supervisor

    def start_worker(self, market):
        """`robot-worker --market M` outside a supervisor (the benchmark's hosts)."""
        p = self.spawn("robot-worker", ["--market", market])
        self.workers[market] = p
        return p

    def json_status(self, program):
        rc, out, _ = self.cli(program, ["status", "--json"], timeout=10)
        if rc not in (0, 1):
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def own_pids(self):
        """Every live process running one of our binaries on this host's configuration."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if self.config_path.encode() in argv and argv[0].startswith(self.bin.encode()) and oracle.proc_state(int(name)) not in (None, "Z", "X"):
                pids.append(int(name))
        return pids

    def worker_pids(self):
        """market -> pid of every live robot-worker of this host (by its command line)."""
        found = {}
        for pid in self.own_pids():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = [a.decode() for a in f.read().split(b"\0")]
            except OSError:
                continue
            if argv and argv[0].endswith("robot-worker") and "--market" in argv:
                found[argv[argv.index("--market") + 1]] = pid
        return found

    def stop(self, sig=signal.SIGTERM, wait=10):
        """Ends everything by PID: the supervisor first (it stops its workers), the workers started
        by hand, the watchdog, then anything left of this host."""
        for p in [self.supervisor, *self.workers.values(), self.watchdog]:
            if p is not None and p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.send_signal(sig)
                except ProcessLookupError:
                    pass
        for p in self.started:
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for pid in self.own_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- what the journals say
    def lock_path(self, market):
        return os.path.join(self.home, "runtime_locks", f"canonical_{market}.lock")

    def events(self, market):
        return oracle.journal_events(self.home, market, self.journals)[0]

    def aggressive_since(self, market, after_ns=0):
        """The monotonic_ns of the first SYSTEM_MODE_CHANGE to AGGRESSIVE in this host's journal of
        `market` at or after `after_ns`, or None."""
        for e in self.events(market):
            if e.get("type") != "SYSTEM_MODE_CHANGE":
                continue
            d = e.get("data") or {}
            t = d.get("monotonic_ns")
            if d.get("to") == "AGGRESSIVE" and isinstance(t, int) and t >= after_ns:
                return t
        return None

    def mode(self, market):
        """(mode, run_id, pid, monotonic_ns) of the last SYSTEM_MODE_CHANGE journaled for `market`."""
        last = None
        for e in self.events(market):
            if e.get("type") == "SYSTEM_MODE_CHANGE":
                d = e.get("data") or {}
                last = (d.get("to"), e.get("run_id"), e.get("pid"), d.get("monotonic_ns"))
        return last


def holders(hosts, market):
    """[(host, pid, run_id)] of the hosts whose live worker's last mode for `market` is AGGRESSIVE."""
    out = []
    for h in hosts:
        m = h.mode(market)
        if m and m[0] == "AGGRESSIVE" and m[2] and oracle.proc_state(m[2]) not in (None, "Z", "X"):
            out.append((h, m[2], m[1]))
    return out


def wait_for(pred, timeout, step=0.005):
    """Polls `pred` until it returns something true, or `timeout` seconds; returns it or None."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(step)
