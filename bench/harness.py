"""The benchmark harness of scripts/bench: runs every benchmark of docs/BENCHMARKS.md against its
peers in the same run and writes the results as JSON (bench/report.py turns them into the doc).

Timing: the children stamp CLOCK_MONOTONIC at their first instruction; the harness takes its own
times (kill, start) with time.monotonic_ns(), the same clock. Every process it starts is in a
process group of its own and is ended by pid and group when it finishes, on failure too.

    python3 harness.py --bin .build/release --tools DIR --venv DIR --out results.json [--quick]
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import journal  # bench/journal.py
import quiet
import strategy  # bench/strategy.py: tick to gated order accepted
import venue  # bench/venue.py: the order round trip through the venue seam
import multihost  # noqa: E402  (bench/multihost.py, next to this file)

MONO = time.monotonic_ns
started = []  # every Popen, for cleanup
extra_pids = set()  # children that left their group (runsv, s6 children), for cleanup


# The supervisor's default `watchdog_kill_grace_seconds` (docs/CONFIG.md).
DEFAULT_KILL_GRACE = 2.0


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL, **kw)
    started.append(p)
    return p


def end(p, sig=signal.SIGTERM, wait=3.0):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def cleanup():
    for p in reversed(started):
        end(p, signal.SIGKILL, 1)
    kill_pids(extra_pids)


def summary(xs):
    xs = sorted(xs)
    if not xs:
        return None
    def pct(q):
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]
    return {"n": len(xs), "median": statistics.median(xs), "min": xs[0], "max": xs[-1], "p99": pct(0.99)}


def read_stamps(path):
    try:
        with open(path) as f:
            return [(w, int(p), int(t)) for w, p, t in (l.split() for l in f if l.count(" ") == 2)]
    except FileNotFoundError:
        return []


def last_start(path):
    s = [x for x in read_stamps(path) if x[0] == "start"]
    return (s[-1][1], s[-1][2]) if s else (None, None)


def wait_for(pred, timeout, step=0.0005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def descendants(root):
    """Every process under root (root included), from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
                ppid = int(s[s.rindex(")") + 2:].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def memory(pids):
    """(RSS, PSS) in bytes summed over pids, from smaps_rollup."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for l in f:
                    if l.startswith("Rss:"):
                        rss += int(l.split()[1]) * 1024
                    elif l.startswith("Pss:"):
                        pss += int(l.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


class LineLog:
    """A process's stderr, each line stamped with time.monotonic_ns() on arrival."""

    def __init__(self, stream, path):
        self.lines = []
        self.lock = threading.Lock()
        self.file = open(path, "w")
        threading.Thread(target=self._run, args=(stream,), daemon=True).start()

    def _run(self, stream):
        for raw in stream:
            t = MONO()
            line = raw.decode(errors="replace").rstrip("\n")
            self.file.write(line + "\n")
            self.file.flush()
            with self.lock:
                self.lines.append((t, line))

    def since(self, i):
        with self.lock:
            return self.lines[i:]

    def __len__(self):
        with self.lock:
            return len(self.lines)


# ---------------------------------------------------------------- configurations

def market_names(n, prefix="M"):
    return [f"{prefix}{i:03d}" for i in range(n)]


def robot_config(markets, supervisor=None, heartbeat=30.0, watchdog=None):
    imap = {f"X{m}": m for m in markets}
    cfg = {
        "instrument_map": imap,
        "markets": {m: {"execution": f"X{m}", "streams": {f"{m}S1": {"instrument": m}}} for m in markets},
        "timings": {"heartbeat_interval_seconds": heartbeat, "invariants_interval_seconds": 60,
                    "heartbeat_late_intervals": 2, "heartbeat_lost_seconds": max(120, heartbeat * 3)},
        "paths": {"lock_dir": "runtime_locks", "state_dir": "state", "socket_dir": "run"},
    }
    if supervisor:
        cfg["supervisor"] = supervisor
    if watchdog:
        cfg["watchdog"] = watchdog
    return cfg


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


FAST_RESTART = {"min_uptime_seconds": 0, "max_restarts": 10000, "restart_window_seconds": 0.01,
                "watchdog_seconds": 30, "start_timeout_seconds": 10}


# ---------------------------------------------------------------- the supervised systems

class System:
    """One supervisor running the tiny child in `count` services, each with its stamp file."""

    def __init__(self, name, base, count, a):
        self.name, self.count, self.a = name, count, a
        self.dir = os.path.join(base, name)
        os.makedirs(self.dir)
        self.proc = None
        self.stamps = []

    def stamp_ready(self):
        return all(last_start(s)[0] for s in self.stamps)

    def supervisor_pids(self):
        return [p for p in descendants(self.proc.pid) if comm(p) not in ("tiny_child", "run")]

    def child_pids(self):
        return [last_start(s)[0] for s in self.stamps if last_start(s)[0]]

    def stop(self):
        if self.proc:
            kids = self.child_pids()
            end(self.proc, signal.SIGKILL)
            kill_pids(kids)
            kill_pids(p for p in descendants(1) if comm(p) in ("runsv", "s6-supervise") and p in extra_pids)
            self.proc = None


class Ours(System):
    def prepare(self):
        names = market_names(self.count)
        self.stamps = [os.path.join(self.dir, f"{m}.stamp") for m in names]
        sup = dict(FAST_RESTART)
        sup["worker_command"] = [self.a.child, "--stamp", os.path.join(self.dir, "{market}.stamp")]
        write_json(os.path.join(self.dir, "robot.json"), robot_config(names, sup))

    def start(self):
        self.proc = spawn([os.path.join(self.a.bin, "supervisor"), "run", "--config", os.path.join(self.dir, "robot.json"),
                           "--home", self.dir], stderr=open(os.path.join(self.dir, "supervisor.log"), "a"))


class ServiceDirs(System):
    def prepare(self):
        self.scan = os.path.join(self.dir, "sv")
        os.makedirs(self.scan)
        for i in range(self.count):
            d = os.path.join(self.scan, f"c{i:03d}")
            os.makedirs(d)
            os.symlink(self.a.child, os.path.join(d, "run"))
            if self.name == "s6":
                with open(os.path.join(d, "notification-fd"), "w") as f:
                    f.write("3\n")
            self.stamps.append(os.path.join(d, "stamp"))

    def stop(self):
        kids = self.child_pids()
        sups = [p for p in descendants(self.proc.pid)] if self.proc else []
        end(self.proc, signal.SIGKILL)
        kill_pids(sups)
        kill_pids(kids)
        self.proc = None


class S6(ServiceDirs):
    def start(self):
        self.proc = spawn(["s6-svscan", self.scan], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Runit(ServiceDirs):
    def start(self):
        self.proc = spawn(["runsvdir", "-P", self.scan], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Supervisord(System):
    def prepare(self, command=None, names=None):
        names = names or [f"c{i:03d}" for i in range(self.count)]
        self.stamps = [os.path.join(self.dir, f"{n}.stamp") for n in names]
        conf = [f"[supervisord]\nnodaemon=true\nlogfile={self.dir}/supervisord.log\npidfile={self.dir}/supervisord.pid\n"
                f"childlogdir={self.dir}\nloglevel=warn\n"]
        for n, stamp in zip(names, self.stamps):
            cmd = command(n) if command else f"{self.a.child} --stamp {stamp}"
            conf.append(f"[program:{n}]\ncommand={cmd}\nautorestart=true\nstartsecs=0\nstartretries=100000\n"
                        f"stdout_logfile=NONE\nstderr_logfile=NONE\n")
        with open(os.path.join(self.dir, "supervisord.conf"), "w") as f:
            f.write("\n".join(conf))

    def start(self):
        self.proc = spawn([os.path.join(self.a.venv, "bin", "supervisord"), "-c", os.path.join(self.dir, "supervisord.conf")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


SYSTEMS = {"robot-runtime supervisor": Ours, "s6 (readiness)": S6, "runit": Runit, "supervisord": Supervisord}
SHORT = {"robot-runtime supervisor": "ours", "s6 (readiness)": "s6", "runit": "runit", "supervisord": "supervisord"}


def bench_crash(a, base, results):
    rounds, warm = a.crash_rounds, 3
    systems = {}
    for name, cls in SYSTEMS.items():
        s = cls(SHORT[name], base, 1, a)
        s.prepare()
        s.start()
        systems[name] = s
    try:
        for s in systems.values():
            if not wait_for(s.stamp_ready, 10, 0.01):
                raise RuntimeError(f"{s.name}: the child did not start")
        samples = {n: [] for n in systems}
        for r in range(rounds + warm):
            # every child must have run > 1 s: runit, s6 and supervisord throttle faster restarts
            time.sleep(1.1)
            order = list(systems.items())
            random.shuffle(order)
            for name, s in order:
                pid, _ = last_start(s.stamps[0])
                t_kill = MONO()
                os.kill(pid, signal.SIGKILL)
                got = wait_for(lambda: (lambda p, t: (p, t) if p and p != pid else None)(*last_start(s.stamps[0])), 5)
                if not got:
                    raise RuntimeError(f"{s.name}: no replacement within 5 s")
                if r >= warm:
                    samples[name].append((got[1] - t_kill) / 1e6)
        results["crash"] = {n: summary(v) for n, v in samples.items()}
        results["crash_raw"] = samples
    finally:
        for s in systems.values():
            s.stop()


def bench_start100(a, base, results):
    n = a.children
    samples = {name: [] for name in SYSTEMS}
    mem = {name: [] for name in SYSTEMS}
    for rep in range(a.reps):
        order = list(SYSTEMS.items())
        random.shuffle(order)
        for name, cls in order:
            s = cls(f"{SHORT[name]}-{n}-{rep}", base, n, a)
            s.prepare()
            try:
                t0 = MONO()
                s.start()
                if not wait_for(s.stamp_ready, 30, 0.005):
                    raise RuntimeError(f"{name}: not all {n} children ran within 30 s")
                t_all = max(last_start(p)[1] for p in s.stamps)
                samples[name].append((t_all - t0) / 1e9)
                time.sleep(1.0)  # settle
                pids = s.supervisor_pids()
                rss, pss = memory(pids)
                mem[name].append({"rss": rss, "pss": pss, "processes": len(pids)})
            finally:
                s.stop()
            time.sleep(0.3)
    results["start"] = {k: summary(v) for k, v in samples.items()}
    results["start_memory"] = {k: {"rss": statistics.median(x["rss"] for x in v), "pss": statistics.median(x["pss"] for x in v),
                                   "processes": v[0]["processes"]} for k, v in mem.items()}


def bench_worker_ready(a, base, results):
    """Our supervisor with the real robot-worker: SIGKILL to the replacement's READY=1 (the log line
    the supervisor writes when it receives READY=1, stamped on arrival)."""
    home = os.path.join(base, "worker-ready")
    os.makedirs(home)
    names = ["ES"]
    sup = dict(FAST_RESTART)
    sup["watchdog_seconds"] = 10
    write_json(os.path.join(home, "robot.json"), robot_config(names, sup))
    p = spawn([os.path.join(a.bin, "supervisor"), "run", "--config", os.path.join(home, "robot.json"), "--home", home],
              stderr=subprocess.PIPE)
    out = LineLog(p.stderr, os.path.join(home, "supervisor.log"))
    samples = []
    try:
        def ready_pid(since):
            for t, l in out.since(since):
                if " ready after " in l:
                    return t, int(l.split(" pid ")[1].split()[0])
            return None
        got = wait_for(lambda: ready_pid(0), 15, 0.01)
        if not got:
            raise RuntimeError("robot-worker never became ready")
        pid = got[1]
        for r in range(a.crash_rounds + 3):
            time.sleep(0.3)
            mark = len(out)
            t_kill = MONO()
            os.kill(pid, signal.SIGKILL)
            got = wait_for(lambda: ready_pid(mark), 10, 0.0005)
            if not got:
                raise RuntimeError("no ready replacement")
            if r >= 3:
                samples.append((got[0] - t_kill) / 1e6)
            pid = got[1]
    finally:
        end(p)
    results["worker_ready"] = summary(samples)


def hung_series(a, base, tag, grace):
    """SIGSTOP of a tiny child under our supervisor, `reps` times: from its last WATCHDOG=1 to its
    replacement's start, ms. A stopped child cannot act on SIGABRT, so the kill grace is spent whole."""
    home = os.path.join(base, tag)
    os.makedirs(home)
    sup = dict(FAST_RESTART)
    sup.update({"watchdog_seconds": a.hung_timeout, "watchdog_kill_grace_seconds": grace})
    stamp = os.path.join(home, "H000.stamp")
    sup["worker_command"] = [a.child, "--stamp", os.path.join(home, "{market}.stamp"), "--stamp-pings"]
    write_json(os.path.join(home, "robot.json"), robot_config(["H000"], sup))
    p = spawn([os.path.join(a.bin, "supervisor"), "run", "--config", os.path.join(home, "robot.json"), "--home", home],
              stderr=open(os.path.join(home, "supervisor.log"), "w"))
    samples = []
    try:
        if not wait_for(lambda: last_start(stamp)[0], 10, 0.01):
            raise RuntimeError("hung: no child")
        for r in range(a.reps + 1):
            time.sleep(0.6)
            pid, _ = last_start(stamp)
            os.kill(pid, signal.SIGSTOP)
            got = wait_for(lambda: (lambda q, t: (q, t) if q and q != pid else None)(*last_start(stamp)), 10 + grace, 0.001)
            if not got:
                raise RuntimeError("hung: no replacement")
            pings = [t for w, q, t in read_stamps(stamp) if w in ("ping", "start") and q == pid]
            if r >= 1:
                samples.append((got[1] - max(pings)) / 1e6)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        end(p)
    return summary(samples)


def bench_hung(a, base, results):
    """The hung-worker figure at the chosen kill grace (`--hung-grace`, 0.01 s: the supervisor's
    own reaction) and at the default grace (2 s: what a user who sets nothing gets)."""
    results["hung"] = hung_series(a, base, "hung", a.hung_grace)
    results["hung_config"] = {"watchdog_seconds": a.hung_timeout, "watchdog_kill_grace_seconds": a.hung_grace}
    results["hung_default_grace"] = hung_series(a, base, "hung-default", DEFAULT_KILL_GRACE)
    results["hung_default_grace_config"] = {"watchdog_seconds": a.hung_timeout, "watchdog_kill_grace_seconds": DEFAULT_KILL_GRACE}


# ---------------------------------------------------------------- watchdog ingestion

def start_watchdog(a, home, markets, snapshot_interval, dashboard_port=None):
    cfg = robot_config(markets, watchdog={"snapshot_interval_seconds": snapshot_interval, "max_connections": 512})
    if dashboard_port:
        cfg["dashboard"] = {"enabled": True, "host": "127.0.0.1", "port": dashboard_port}
    write_json(os.path.join(home, "robot.json"), cfg)
    sock = os.path.join(home, "run", "watchdog.sock")
    p = spawn(["taskset", "-c", "0", os.path.join(a.bin, "watchdog"), "run", "--config", os.path.join(home, "robot.json"),
               "--home", home], stderr=open(os.path.join(home, "watchdog.log"), "a"))
    return p, sock


def start_peer(a, home, kind):
    """The Python peer (kind "python_durable": the one that fdatasyncs what it acks), or (kind "raw")
    the raw-socket reference that does no work."""
    os.makedirs(os.path.join(home, "run"), exist_ok=True)
    sock = os.path.join(home, "run", "peer.sock")
    argv = [a.raw, sock] if kind == "raw" else [sys.executable, os.path.join(a.here, "peer_server.py"), sock]
    if kind == "python_durable":
        argv += ["--durable", os.path.join(home, "peer-journal.ndjson")]
    p = spawn(["taskset", "-c", "0"] + argv, stderr=open(os.path.join(home, "peer.log"), "a"))
    return p, sock


def connectable(path):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.close()
        return True
    except OSError:
        return False


def run_writers(a, sock, markets, count, batch, rate):
    ps = [subprocess.Popen(["taskset", "-c", "1", a.writer, sock, m, str(count), str(batch), str(rate)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) for m in markets]
    started.extend(ps)
    outs = []
    for p in ps:
        o, e = p.communicate(timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"writer failed: {e.decode()}")
        outs.append(o.decode().split("\n"))
    t0 = min(int(o[0].split()[0]) for o in outs)
    t1 = max(int(o[0].split()[1]) for o in outs)
    # (write to applied, write to ack) per event, ns
    lats = [tuple(int(x) for x in l.split()[1:3]) for o in outs for l in o if l.startswith("lat ")]
    return t0, t1, lats


def fresh_server(a, base, kind, tag, markets, snapshot_interval=0.05):
    home = tempfile.mkdtemp(prefix=f"{kind[:2]}", dir=base)
    if kind == "watchdog":
        p, sock = start_watchdog(a, home, markets, snapshot_interval)
    else:
        p, sock = start_peer(a, home, kind)
    if not wait_for(lambda: connectable(sock), 15, 0.01):
        end(p)
        raise RuntimeError(f"{kind} did not serve {sock}")
    return p, sock, home


def bench_ingest(a, base, results):
    out = {}
    for writers in (1, 4, 16):
        for batch in (a.batch, 1):
            markets = [f"W{i:02d}" for i in range(writers)]
            total = a.events_batched if batch > 1 else a.events_single
            per = max(1, total // writers)
            key = f"{writers} writer{'s' if writers > 1 else ''}, {'batched (' + str(batch) + ' lines per write)' if batch > 1 else 'one line per write'}"
            rates = {"watchdog": [], "python": [], "raw": []}
            for rep in range(a.reps + 1):
                for kind in random.sample(list(rates), len(rates)):
                    p, sock, home = fresh_server(a, base, kind, key, markets)
                    try:
                        t0, t1, _ = run_writers(a, sock, markets, per, batch, 0)
                    finally:
                        end(p)
                        shutil.rmtree(home, ignore_errors=True)
                    if rep >= 1:
                        rates[kind].append(per * writers / ((t1 - t0) / 1e9))
            out[key] = {k: summary(v) for k, v in rates.items()}
            log(key, {k: round(v["median"]) for k, v in out[key].items()})
    results["ingest"] = out


class StreamClients:
    """`n` open `/api/stream` event streams of the watchdog's dashboard, each read by a thread of
    this process as a browser would (everything read, nothing kept), so the watchdog renders and
    sends every update to each."""

    def __init__(self, port, n):
        self.stop = threading.Event()
        self.bytes = [0] * n
        self.socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            self.socks.append(s)
        self.threads = [threading.Thread(target=self._read, args=(i, s), daemon=True) for i, s in enumerate(self.socks)]
        for t in self.threads:
            t.start()

    def _read(self, i, s):
        s.settimeout(0.2)
        while not self.stop.is_set():
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not d:
                return
            self.bytes[i] += len(d)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(2)
        for s in self.socks:
            s.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_dashboard(a, base, results):
    """The ingestion row of one writer, batched, with ten browsers' worth of open dashboard event
    streams against the same row without them (the watchdog as the ingestion rows run it), in
    alternating order; the ratio says what the page and its streams cost ingestion."""
    markets, batch, per = ["W00"], a.batch, a.events_batched
    rates = {"without": [], "streams": []}
    delivered = []
    for rep in range(a.reps + 1):
        for kind in random.sample(list(rates), len(rates)):
            home = tempfile.mkdtemp(prefix="db", dir=base)
            port = free_port() if kind == "streams" else None
            p, sock = start_watchdog(a, home, markets, 0.05, dashboard_port=port)
            clients = None
            try:
                if not wait_for(lambda: connectable(sock), 15, 0.01):
                    raise RuntimeError(f"watchdog did not serve {sock}")
                if port:
                    def up():
                        try:
                            with socket.create_connection(("127.0.0.1", port), timeout=1):
                                return True
                        except OSError:
                            return False
                    if not wait_for(up, 15, 0.01):
                        raise RuntimeError(f"the dashboard did not listen on {port}")
                    clients = StreamClients(port, 10)
                    wait_for(lambda: all(clients.bytes), 5, 0.01)
                    before = list(clients.bytes)
                t0, t1, _ = run_writers(a, sock, markets, per, batch, 0)
                if clients:
                    # Every stream got updates while the events went in (at least one a second).
                    wait_for(lambda: all(b > x for b, x in zip(clients.bytes, before)), 3, 0.01)
                    delivered.append(min(b - x for b, x in zip(clients.bytes, before)))
            finally:
                if clients:
                    clients.close()
                end(p)
                shutil.rmtree(home, ignore_errors=True)
            if rep >= 1:
                rates[kind].append(per / ((t1 - t0) / 1e9))
    out = {k: summary(v) for k, v in rates.items()}
    out["row"] = f"1 writer, batched ({batch} lines per write)"
    out["streams_open"] = 10
    out["ratio"] = out["streams"]["median"] / out["without"]["median"]
    out["least_bytes_per_stream"] = min(delivered) if delivered else 0
    log("dashboard", {k: round(v["median"]) for k, v in out.items() if isinstance(v, dict)}, f"ratio {out['ratio']:.3f}")
    results["dashboard"] = out


def bench_latency(a, base, results):
    """One writer at 1,000 events/s; per event the time from its write to the first message saying
    it is applied (the watchdog's `applied` notice, the peers' ack) and to its ack (the watchdog's:
    in a snapshot on disk; the durable peer's: in its fdatasynced file). The watchdog runs its
    default configuration (snapshot_interval 0.05 s, written at once when input pauses).
    Interleaved like every comparison."""
    lats = {"watchdog": [], "python_durable": [], "python": [], "raw": []}
    for rep in range(a.reps):
        for kind in random.sample(list(lats), len(lats)):
            p, sock, home = fresh_server(a, base, kind, "lat", ["L00"])
            try:
                _, _, l = run_writers(a, sock, ["L00"], a.latency_events, 1, 1000)
            finally:
                end(p)
                shutil.rmtree(home, ignore_errors=True)
            lats[kind].append(l[100:])  # the first 100 events warm up
    out = {}
    for kind, runs in lats.items():
        def pct(q, i):
            return [sorted(x[i] for x in l)[int(q * (len(l) - 1))] / 1e3 for l in runs]
        out[kind] = {"applied_p50": summary(pct(0.5, 0)), "applied_p99": summary(pct(0.99, 0)),
                     "ack_p50": summary(pct(0.5, 1)), "ack_p99": summary(pct(0.99, 1)), "n": sum(len(l) for l in runs)}
    results["latency"] = out


# ---------------------------------------------------------------- scale and chaos

def bench_scale(a, base, results):
    n = a.scale_markets
    names = market_names(n, "S")
    home = os.path.join(base, "scale")
    os.makedirs(home)
    sup = {"min_uptime_seconds": 1, "max_restarts": 100, "restart_window_seconds": 60, "watchdog_seconds": 10,
           "start_timeout_seconds": 30}
    write_json(os.path.join(home, "robot.json"), robot_config(names, sup, heartbeat=1.0))
    cfg = os.path.join(home, "robot.json")
    wd = spawn([os.path.join(a.bin, "watchdog"), "run", "--config", cfg, "--home", home],
               stderr=open(os.path.join(home, "watchdog.log"), "w"))
    if not wait_for(lambda: connectable(os.path.join(home, "run", "watchdog.sock")), 15, 0.01):
        raise RuntimeError("scale: no watchdog")
    t0 = MONO()
    sp = spawn([os.path.join(a.bin, "supervisor"), "run", "--config", cfg, "--home", home], stderr=subprocess.PIPE)
    out = LineLog(sp.stderr, os.path.join(home, "supervisor.log"))
    res = {"markets": n}
    try:
        def all_ready():
            ready = {l.split(" pid ")[0].split()[-1] for _, l in out.since(0) if " ready after " in l}
            return len(ready) >= n
        got = wait_for(all_ready, 60, 0.01)
        if not got:
            raise RuntimeError("scale: not all workers became ready within 60 s")
        t_all = max(t for t, l in out.since(0) if " ready after " in l)
        res["all_running_seconds"] = (t_all - t0) / 1e9
        time.sleep(5)
        hz = os.sysconf("SC_CLK_TCK")
        wd_pid = wd.pid
        c0 = (cpu_ticks(sp.pid), cpu_ticks(wd_pid), MONO())
        time.sleep(a.idle_seconds)
        c1 = (cpu_ticks(sp.pid), cpu_ticks(wd_pid), MONO())
        secs = (c1[2] - c0[2]) / 1e9
        res["idle_seconds"] = secs
        res["supervisor_cpu_percent"] = 100 * (c1[0] - c0[0]) / hz / secs
        res["watchdog_cpu_percent"] = 100 * (c1[1] - c0[1]) / hz / secs
        workers = [p for p in descendants(sp.pid) if p != sp.pid]
        res["supervisor_rss"], res["supervisor_pss"] = memory([sp.pid])
        res["watchdog_rss"], res["watchdog_pss"] = memory([wd_pid])
        res["worker_rss"], res["worker_pss"] = memory(workers[:1])
        res["workers_total_rss"], res["workers_total_pss"] = memory(workers)
        if a.chaos:
            res["chaos"] = chaos(a, home, cfg, sp, out, names, workers)
    finally:
        end(sp, signal.SIGTERM, 15)
        end(wd, signal.SIGTERM, 5)
    # supervisord running the same workers
    s = Supervisord("supervisord-scale", base, n, a)
    s.prepare(command=lambda m: f"{a.bin}/robot-worker --market {m} --config {cfg} --home {home}", names=names)
    wd = spawn([os.path.join(a.bin, "watchdog"), "run", "--config", cfg, "--home", home],
               stderr=open(os.path.join(home, "watchdog2.log"), "w"))
    try:
        t0 = MONO()
        s.start()
        def workers_up():
            ws = [p for p in descendants(s.proc.pid) if comm(p).startswith("robot-worker")]
            return ws if len(ws) >= n else None
        ws = wait_for(workers_up, 60, 0.05)
        time.sleep(5)
        hz = os.sysconf("SC_CLK_TCK")
        c0 = (cpu_ticks(s.proc.pid), MONO())
        time.sleep(min(a.idle_seconds, 20))
        c1 = (cpu_ticks(s.proc.pid), MONO())
        res["supervisord_cpu_percent"] = 100 * (c1[0] - c0[0]) / hz / ((c1[1] - c0[1]) / 1e9)
        res["supervisord_rss"], res["supervisord_pss"] = memory([s.proc.pid])
        res["supervisord_workers"] = len(ws or [])
    finally:
        kids = [p for p in descendants(s.proc.pid) if p != s.proc.pid]
        end(s.proc, signal.SIGTERM, 15)
        kill_pids(kids)
        end(wd, signal.SIGTERM, 5)
    results["scale"] = res


def watchdog_status(a, cfg, home):
    r = subprocess.run([os.path.join(a.bin, "watchdog"), "status", "--json", "--config", cfg, "--home", home],
                       capture_output=True, timeout=30)
    return json.loads(r.stdout)


def chaos(a, home, cfg, sp, out, names, workers):
    """While 4 writers load the watchdog flat out, SIGKILL real workers again and again (each is
    replaced by the supervisor and re-sends its un-acked journal). Then: every writer's events
    applied exactly once (applied seq == count, no gaps), and every run of every worker market
    checked against its journal by the chaos test's oracle (scenarios/chaos/oracle.py): the stack
    settles until nothing journaled is unapplied, no event lost or applied twice (run by run, and
    the counter against the sum of applied seqs), no two runs' AGGRESSIVE windows overlapping,
    fences increasing."""
    sys.path.insert(0, os.path.join(a.here, "..", "scenarios", "chaos"))
    import oracle
    sock = os.path.join(home, "run", "watchdog.sock")
    # Markets of their own: a writer holds its market's lock like a worker (the watchdog checks it),
    # and must not compete with the supervised workers.
    wm = [f"CHAOS{i}" for i in range(4)]
    stop = threading.Event()
    kills = [0]
    watch = oracle.LockWatch(lambda m: os.path.join(home, "runtime_locks", f"canonical_{m}.lock"), names, period=0.02)
    history = oracle.AppliedHistory()
    journals = oracle.JournalCache()

    def status():
        try:
            return watchdog_status(a, cfg, home)
        except (subprocess.TimeoutExpired, ValueError):
            return None
    poller = oracle.StatusPoller(status, history, period=1.0)
    watch.start()
    poller.start()

    def killer():
        while not stop.is_set():
            ws = [p for p in descendants(sp.pid) if p != sp.pid]
            ws = [p for p in ws if comm(p).startswith("robot-worker")]
            if ws:
                try:
                    os.kill(random.choice(ws), signal.SIGKILL)
                    kills[0] += 1
                except ProcessLookupError:
                    pass
            stop.wait(0.05)
    th = threading.Thread(target=killer, daemon=True)
    th.start()
    try:
        count = a.chaos_events
        ps = [subprocess.Popen([a.writer, sock, m, str(count), str(a.batch), "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True) for m in wm]
        started.extend(ps)
        for p in ps:
            p.communicate(timeout=300)
        writer_runs = {f"{m}-20261121T071500Z-{p.pid:08x}": m for m, p in zip(wm, ps)}
        ok_writers = all(p.returncode == 0 for p in ps)
    finally:
        stop.set()
        th.join()
    # The killed workers come back and re-send: settled once nothing journaled is unapplied.
    t_settle = MONO()
    st, before, after, behind = oracle.settle(names, lambda m: oracle.journal_events(home, m, journals), status, history, 60, period=0.5)
    settle_seconds = (MONO() - t_settle) / 1e9
    poller.finish()
    watch.finish()
    violations = [f"not settled within 60 s: {behind}"] if behind else []
    runs = lost = twice = windows = 0
    for m in names:
        f = oracle.check_market(m, before[m], after[m], st, history, watch.last_held_ns, violations)
        runs += f["runs"]
        lost += f["lost"]
        twice += f["applied_twice"]
        windows += f["aggressive_windows"]
    if watch.double:
        violations.append(f"{len(watch.double)} sample(s) with two flock holders of one inode")
    gaps = dups = 0
    applied_ok = True
    for m, ms in st.get("markets", {}).items():
        c = ms.get("counters", {})
        gaps += c.get("gaps", 0)
        dups += c.get("duplicates", 0)
    # the writers' runs: applied == count (status lists each market's runs with their applied seq)
    for run, m in writer_runs.items():
        wruns = st.get("markets", {}).get(m, {}).get("runs", [])
        if not any(r.get("run_id") == run and r.get("applied_seq") == a.chaos_events for r in wruns):
            applied_ok = False
    return {"kills": kills[0], "writer_events": a.chaos_events * len(wm), "writers_ok": ok_writers,
            "gaps": gaps, "duplicates_counted_not_applied": dups, "writer_runs_complete": applied_ok,
            "settle_seconds": round(settle_seconds, 2), "worker_runs_checked": runs, "worker_events_lost": lost,
            "worker_events_applied_twice": twice, "aggressive_windows": windows, "oracle_violations": violations[:20],
            "oracle_violation_count": len(violations)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--child", required=True)
    ap.add_argument("--writer", required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="crash,start,worker,hung,ingest,dashboard,latency,scale,journal,quiet,strategy,venue,multihost")
    ap.add_argument("--venue-orders", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--crash-rounds", type=int, default=40)
    ap.add_argument("--children", type=int, default=100)
    ap.add_argument("--hung-timeout", type=float, default=1.0)
    ap.add_argument("--hung-grace", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--events-batched", type=int, default=400_000)
    ap.add_argument("--events-single", type=int, default=200_000)
    ap.add_argument("--latency-events", type=int, default=3_000)
    ap.add_argument("--scale-markets", type=int, default=200)
    ap.add_argument("--idle-seconds", type=float, default=60)
    ap.add_argument("--chaos", action="store_true")
    ap.add_argument("--chaos-events", type=int, default=200_000)
    ap.add_argument("--journal-floor", default=None)  # bench/journal.py
    ap.add_argument("--journal-rounds", type=int, default=8)
    ap.add_argument("--journal-events", type=int, default=128_000)
    ap.add_argument("--journal-floor-events", type=int, default=3000)
    ap.add_argument("--journal-latency-events", type=int, default=3000)
    ap.add_argument("--multihost-trials", type=int, default=30)
    ap.add_argument("--multihost-markets", type=int, default=500)
    a = ap.parse_args()
    a.here = os.path.dirname(os.path.abspath(__file__))
    a.bin, a.child, a.writer, a.venv = (os.path.abspath(x) for x in (a.bin, a.child, a.writer, a.venv))
    results = {}
    if os.path.exists(a.out):
        with open(a.out) as f:
            results = json.load(f)
    base = tempfile.mkdtemp(prefix="rb.", dir="/tmp")
    # Its own host-wide guard folder (docs/RELIABILITY.md, section 6), never the host's.
    os.environ["ROBOT_GUARD_DIR"] = os.path.join(base, "host-guard")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    steps = {"crash": bench_crash, "start": bench_start100, "worker": bench_worker_ready, "hung": bench_hung,
             "ingest": bench_ingest, "dashboard": bench_dashboard, "latency": bench_latency, "scale": bench_scale,
             "journal": lambda a, base, results: journal.bench_journal(a, base, results, sys.modules[__name__]),
             "quiet": lambda a, base, results: quiet.bench(a, base, results, sys.modules[__name__]),
             "strategy": strategy.bench_strategy,  # bench/strategy.py
             "venue": venue.bench,  # bench/venue.py
             "multihost": multihost.bench,  # bench/multihost.py: the lease across hosts against etcd
             }
    try:
        for name in a.only.split(","):
            log(f"{name}…")
            t = time.monotonic()
            steps[name](a, base, results)
            log(f"{name} done in {time.monotonic() - t:.0f} s")
            with open(a.out, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
