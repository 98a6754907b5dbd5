"""A fleet of idle workers for the watchdog's idle benchmark (bench/quiet.py, docs/BENCHMARKS.md).

    quiet_fleet.py SOCKET MARKETS HEARTBEAT_SECONDS INVARIANTS_SECONDS

Speaks for MARKETS (comma-separated) the way an idle robot-worker does, in one process: takes each
market's lock (flock of HOME/runtime_locks/canonical_M.lock, where SOCKET is HOME/run/watchdog.sock),
connects, says hello with fence 1, then sends each market's HEARTBEAT every HEARTBEAT_SECONDS and
its IDENTITY_INVARIANTS_STATUS (a seq'd event, acked by the watchdog) every INVARIANTS_SECONDS, the
markets' phases spread evenly over the interval as independent workers' would be. As a worker does
at its start, each market's first status goes right after its welcome, so the window measured is the
steady state (a status after a status). Acks are read and dropped. Prints "ready" once every welcome
is in; runs until SIGTERM. One process stands in for 1,000 workers, so the benchmark measures the
watchdog, not 1,000 Swift processes on 2 cores.
"""

import fcntl
import heapq
import os
import resource
import selectors
import signal
import socket
import sys
import time


def utc_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


def status_line(m, run, pid, seq):
    ts = utc_now()
    return (f'{{"v":1,"type":"IDENTITY_INVARIANTS_STATUS","market":"{m}","run_id":"{run}","pid":{pid},"fence":1,'
            f'"seq":{seq},"ts":"{ts}","data":{{"pass":true,"violations":[],"canonical_instrument":"{m}",'
            f'"execution_instrument":"X{m}","stream_ids":["{m}S1"],"checked_at_utc":"{ts}"}}}}\n')


def main():
    path, names, hb, inv = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), float(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * len(names) + 64)), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    lockdir = os.path.join(os.path.dirname(os.path.dirname(path)), "runtime_locks")
    os.makedirs(lockdir, exist_ok=True)
    pid = os.getpid()
    conns = {}
    sel = selectors.DefaultSelector()
    # Every lock first, then the hellos in groups of 50, each group's welcomes read before the
    # next: the watchdog reads /proc/locks for each hello, and a table that changes while it is
    # read in pieces can hide a holder (see docs/BENCHMARKS.md, "The watchdog at rest").
    for m in names:
        lock = os.open(os.path.join(lockdir, f"canonical_{m}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        conns[m] = {"lock": lock, "run": f"{m}-20261121T071500Z-{pid:08x}", "seq": 0, "buf": b""}
    for g in range(0, len(names), 50):
        group = names[g:g + 50]
        for m in group:
            c = conns[m]
            s = c["sock"] = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.sendall((f'{{"v":1,"type":"hello","role":"worker","market":"{m}","run_id":"{c["run"]}","pid":{pid},'
                       f'"fence":1,"resume_runs":[]}}\n').encode())
        for m in group:
            c = conns[m]
            while b"\n" not in c["buf"]:
                chunk = c["sock"].recv(65536)
                if not chunk:
                    sys.exit(f"quiet_fleet: {m}: the watchdog closed the connection before its welcome")
                c["buf"] += chunk
            first = c["buf"].split(b"\n", 1)[0]
            if b"welcome" not in first:
                sys.exit(f"quiet_fleet: {m}: {first.decode(errors='replace')}")
            c["seq"] = 1
            c["sock"].sendall(status_line(m, c["run"], pid, 1).encode())
            c["sock"].setblocking(False)
            sel.register(c["sock"], selectors.EVENT_READ, m)
    print("ready", flush=True)
    n = len(names)
    start = time.monotonic()
    due = []  # (when, market index, kind)
    for i in range(n):
        heapq.heappush(due, (start + hb * i / n, i, "hb"))
        heapq.heappush(due, (start + inv * (i + 1) / n, i, "inv"))
    began = {}
    while True:
        when, i, kind = due[0]
        wait = when - time.monotonic()
        for key, _ in sel.select(max(0.0, wait)):
            try:
                if not key.fileobj.recv(65536):
                    sys.exit(f"quiet_fleet: {key.data}: the watchdog closed the connection")
            except BlockingIOError:
                pass
        if time.monotonic() < when:
            continue
        heapq.heappop(due)
        m = names[i]
        c = conns[m]
        ts = utc_now()
        def head(t):
            return f'{{"v":1,"type":"{t}","market":"{m}","run_id":"{c["run"]}","pid":{pid},"fence":1,'
        if kind == "hb":
            up = time.monotonic() - began.setdefault(m, start)
            line = (head("HEARTBEAT") + f'"ts":"{ts}","data":{{"mode":"AGGRESSIVE","uptime_seconds":{up:.1f},'
                    f'"rss_bytes":9400320,"interval_seconds":{hb},"last_seq":{c["seq"]}}}}}\n')
            heapq.heappush(due, (when + hb, i, kind))
        else:
            c["seq"] += 1
            line = status_line(m, c["run"], pid, c["seq"])
            heapq.heappush(due, (when + inv, i, kind))
        c["sock"].sendall(line.encode())


if __name__ == "__main__":
    main()
