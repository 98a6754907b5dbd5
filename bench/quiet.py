"""The quiet watchdog's benchmarks (docs/BENCHMARKS.md, "The watchdog at rest"): its idle CPU with
200 and 1,000 markets at 1 s heartbeats, and its write-to-applied latency beside the Python peer
and the raw floor, all in the same run; and the write-to-applied of a sparse stream beside 200
quiet markets (`rest_latency`: what the loop's rest between heartbeat wakeups costs an event).

From scripts/bench (section "quiet"), harness.py calls `bench(a, base, results, harness)` (the idle
CPU; the latency is harness.py's section "latency"). Standalone, it compares builds back to back (an
A/B of two release builds, interleaved, same run), latency included:

    python3 bench/quiet.py --bin .build/release --bin /tmp/main-build/release --writer .build-bench/ingest_writer \
        --raw .build-bench/raw_server --out /tmp/quiet.json [--idle-seconds 30] [--reps 3] [--markets 200,1000]

Idle CPU is the watchdog's own CPU time (utime + stime of every thread, from /proc), which other
load on the machine hardly moves, over `idle_seconds`; the wakeups are its threads' context
switches (voluntary + involuntary) over the same time. The markets are one quiet_fleet.py process
standing in for idle workers (a heartbeat per market per second, an IDENTITY_INVARIANTS_STATUS per
market per minute, phases spread), so 1,000 markets do not need 1,000 worker processes on 2 cores.
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def threads_of(pid):
    try:
        return os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []


def usage(pid):
    """(CPU ticks, context switches) of every thread of pid."""
    ticks = switches = 0
    for tid in threads_of(pid):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
            fields = s[s.rindex(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return ticks, switches


@contextlib.contextmanager
def quiet_watchdog(h, a, base, binary, prefix, n, extra=(), metrics=False, pin=None):
    """A watchdog of `binary` on a fresh home with n quiet markets that quiet_fleet.py speaks for
    (and the `extra` markets, left to the caller), settled for `a.settle_seconds`; yields (home,
    sock, watchdog, fleet). On the way out it ends the fleet and the watchdog and removes the home."""
    home = tempfile.mkdtemp(prefix=prefix, dir=base)
    names = h.market_names(n, "Q")
    # hello_timeout: the watchdog reads /proc/locks for each hello, and 1,000 hellos take seconds.
    cfg = h.robot_config(names + list(extra), heartbeat=1.0, watchdog={"max_connections": n + 64, "hello_timeout_seconds": 60})
    if metrics:
        cfg["metrics"] = {"host": "127.0.0.1", "watchdog_port": h.free_port()}
    h.write_json(os.path.join(home, "robot.json"), cfg)
    sock = os.path.join(home, "run", "watchdog.sock")
    wd = h.spawn((["taskset", "-c", pin] if pin else []) + [os.path.join(binary, "watchdog"), "run", "--config",
                  os.path.join(home, "robot.json"), "--home", home], stderr=open(os.path.join(home, "watchdog.log"), "a"))
    fleet = None
    try:
        if not h.wait_for(lambda: h.connectable(sock), 15, 0.01):
            raise RuntimeError(f"quiet: the watchdog of {binary} did not serve {sock}")
        fleet = h.spawn([sys.executable, os.path.join(HERE, "quiet_fleet.py"), sock, ",".join(names), "1.0", "60"],
                        stdout=subprocess.PIPE, stderr=open(os.path.join(home, "fleet.log"), "a"))
        if fleet.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"quiet: the fleet did not start (see {home}/fleet.log)")
        time.sleep(a.settle_seconds)
        yield home, sock, wd, fleet
    finally:
        if fleet:
            h.end(fleet)
        h.end(wd)
        shutil.rmtree(home, ignore_errors=True)


def idle_once(h, a, base, binary, n, metrics):
    """One idle run: the watchdog of `binary` with n quiet markets over `a.idle_seconds`; returns its
    CPU percent and wakeups per second."""
    with quiet_watchdog(h, a, base, binary, "qi", n, metrics=metrics) as (home, _, wd, fleet):
        hz = os.sysconf("SC_CLK_TCK")
        u0, t0 = usage(wd.pid), h.MONO()
        time.sleep(a.idle_seconds)
        u1, t1 = usage(wd.pid), h.MONO()
        if fleet.poll() is not None or wd.poll() is not None:
            raise RuntimeError(f"quiet: the fleet or the watchdog ended during the idle run (see {home})")
        secs = (t1 - t0) / 1e9
        return 100 * (u1[0] - u0[0]) / hz / secs, (u1[1] - u0[1]) / secs


def latency_summary(h, runs):
    """Each run's p50 and p99 of write to applied and write to ack (µs), summarized over the runs."""
    def pct(q, i):
        return [sorted(x[i] for x in l)[int(q * (len(l) - 1))] / 1e3 for l in runs]

    return {"applied_p50": h.summary(pct(0.5, 0)), "applied_p99": h.summary(pct(0.99, 0)),
            "ack_p50": h.summary(pct(0.5, 1)), "ack_p99": h.summary(pct(0.99, 1))}


CASES = {"200": (200, False), "1000": (1000, False), "200 with /metrics": (200, True)}


def idle(h, a, base, builds, cases):
    out = {}
    for case in cases:
        n, metrics = CASES[case]
        cpu = {b: [] for b in builds}
        wake = {b: [] for b in builds}
        for _ in range(a.reps):
            for b in random.sample(list(builds), len(builds)):
                c, w = idle_once(h, a, base, builds[b], n, metrics)
                cpu[b].append(c)
                wake[b].append(w)
        out[case] = {b: {"cpu_percent": h.summary(cpu[b]), "wakeups_per_second": h.summary(wake[b])} for b in builds}
        h.log(f"quiet idle {case}", {b: round(out[case][b]["cpu_percent"]["median"], 3) for b in builds})
    return out


def latency(h, a, base, builds):
    """Write-to-applied and write-to-ack per event at 1,000 events/s, one writer: each build's
    watchdog beside the Python peer and the raw floor, interleaved (harness.py's latency section,
    with more than one build)."""
    kinds = {**{f"watchdog:{b}": p for b, p in builds.items()}, "python": None, "raw": None}
    lats = {k: [] for k in kinds}
    for _ in range(a.reps):
        for kind in random.sample(list(kinds), len(kinds)):
            if kind.startswith("watchdog:"):
                home = tempfile.mkdtemp(prefix="ql", dir=base)
                p, sock = h.start_watchdog(argparse.Namespace(bin=kinds[kind]), home, ["L00"], 0.05)
                if not h.wait_for(lambda: h.connectable(sock), 15, 0.01):
                    h.end(p)
                    raise RuntimeError(f"quiet: {kind} did not serve {sock}")
            else:
                p, sock, home = h.fresh_server(a, base, kind, "lat", ["L00"])
            try:
                _, _, l = h.run_writers(a, sock, ["L00"], a.latency_events, 1, 1000)
            finally:
                h.end(p)
                shutil.rmtree(home, ignore_errors=True)
            lats[kind].append(l[100:])  # the first 100 events warm up
    out = {k: latency_summary(h, r) for k, r in lats.items()}
    h.log("quiet latency applied p99 (us)", {k: round(v["applied_p99"]["median"]) for k, v in out.items()})
    return out


def rest_latency(h, a, base, builds, n=200, events=500, rate=50):
    """Write to applied of a sparse stream (`rate` events/s, one writer) to a watchdog at rest with
    n quiet markets beside it: an event that arrives while the loop rests between heartbeat
    wakeups (docs/watchdog.md, "Heartbeats") waits for the rest's end. Each build interleaved."""
    lats = {b: [] for b in builds}
    for _ in range(a.reps):
        for b in random.sample(list(builds), len(builds)):
            with quiet_watchdog(h, a, base, builds[b], "qr", n, extra=["L00"], pin="0") as (_, sock, _, _):
                _, _, l = h.run_writers(a, sock, ["L00"], events, 1, rate)
            lats[b].append(l[20:])  # the first 20 events warm up
    out = {b: latency_summary(h, r) for b, r in lats.items()}
    h.log(f"quiet rest latency ({n} markets, {rate}/s) applied p50/p99 (us)",
          {b: (round(v["applied_p50"]["median"]), round(v["applied_p99"]["median"])) for b, v in out.items()})
    return out


def bench(a, base, results, h):
    """The section "quiet" of scripts/bench: this build's idle CPU at 200 and 1,000 markets and the
    write-to-applied of a sparse stream beside 200 quiet markets (its latency against the peer and
    the floor is harness.py's section "latency")."""
    q = argparse.Namespace(**vars(a))
    q.settle_seconds = 3.0
    q.idle_seconds = min(a.idle_seconds, 20)
    q.reps = min(a.reps, 3)
    results["quiet"] = {"idle": idle(h, q, base, {"this": a.bin}, list(CASES)), "idle_seconds": q.idle_seconds, "reps": q.reps,
                        "rest_latency": rest_latency(h, q, base, {"this": a.bin})}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, help="a release build folder; twice for an A/B")
    ap.add_argument("--writer", required=True)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=30)
    ap.add_argument("--settle-seconds", type=float, default=3)
    ap.add_argument("--latency-events", type=int, default=3000)
    ap.add_argument("--cases", default=",".join(CASES), help=f"some of {list(CASES)}")
    ap.add_argument("--only", default="idle,latency,rest_latency")
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    import harness as h
    a.here = HERE
    a.writer, a.raw = os.path.abspath(a.writer), os.path.abspath(a.raw)
    a.bin = [os.path.abspath(b) for b in a.bin]
    builds = {f"{i}:{b}": b for i, b in enumerate(a.bin)}
    base = tempfile.mkdtemp(prefix="rq.", dir="/tmp")
    os.environ["ROBOT_GUARD_DIR"] = os.path.join(base, "host-guard")
    results = {}
    try:
        only = a.only.split(",")
        if "idle" in only:
            results["idle"] = idle(h, a, base, builds, a.cases.split(","))
        if "rest_latency" in only:
            results["rest_latency"] = rest_latency(h, a, base, builds)
        if "latency" in only:
            a.bin = a.bin[0]
            results["latency"] = latency(h, a, base, builds)
    finally:
        h.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
