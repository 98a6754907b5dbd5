"""The worker's journal (issue 20), called from harness.py as `journal`:

- SIGKILL to READY and peak RSS of a supervised robot-worker against the size of its un-acked
  journal (empty, 8, 64 and 256 MB of an earlier run's events that no watchdog acked: sealed
  segments plus events.ndjson, as a long outage leaves them). The first start after the journal is
  written checks it whole and records its verified prefix; the measured starts are the restarts
  after SIGKILL that follow, as after weeks of running.
- The journal's group commit (`robot-worker bench-journal`: EventLog and Journal on a Reactor)
  beside bench/journal_floor.c on the same file system: write+fdatasync per event and per batch,
  and emit-to-durable latency at 1,000 events/s, as ratios.
"""
import json
import os
import signal
import subprocess
import time

SIZES_MB = [0, 8, 64, 256]
SEGMENT_BYTES = 64 << 20


def event_line(run, seq, micros):
    secs, us = divmod(micros, 1_000_000)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{us:06d}Z"
    data = {"mode": "AGGRESSIVE", "healthy": True, "reasons": [], "rules": [], "uptime_seconds": 1.5,
            "rss_bytes": 25000000, "error_rate_per_minute": 0, "execution_queue": "idle", "pad": "x" * 120}
    return json.dumps({"v": 1, "type": "HEALTH_STATUS", "market": "ES", "run_id": run, "pid": 4242, "fence": 1,
                       "seq": seq, "ts": ts, "data": data}, separators=(",", ":")) + "\n"


def write_journal(folder, megabytes):
    """An earlier run's events, un-acked: segments of 64 MiB, the rest in events.ndjson."""
    os.makedirs(folder, exist_ok=True)
    total = megabytes << 20
    run = "ES-20260101T000000Z-0000beef"
    start = int((time.time() - 86400) * 1e6)
    seq, written, seg = 0, 0, 0
    out = None
    current = 0
    chunk = []
    def path_for(n):
        return os.path.join(folder, f"events.seg-{n:06d}.ndjson")
    while written < total:
        if out is None:
            remaining = total - written
            name = path_for(seg + 1) if remaining > SEGMENT_BYTES else os.path.join(folder, "events.ndjson")
            if remaining > SEGMENT_BYTES:
                seg += 1
            out = open(name, "w")
            current = 0
        seq += 1
        line = event_line(run, seq, start + seq * 1000)
        chunk.append(line)
        written += len(line)
        current += len(line)
        if current >= SEGMENT_BYTES and written < total:
            out.write("".join(chunk))
            chunk = []
            out.close()
            out = None
        elif len(chunk) >= 4096:
            out.write("".join(chunk))
            chunk = []
    if out is not None:
        out.write("".join(chunk))
        out.close()
    return seq


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith("VmHWM:"):
                    return int(l.split()[1])
    except OSError:
        return None
    return None


def startup_series(a, h, base, megabytes, rounds):
    home = os.path.join(base, f"journal-{megabytes}")
    os.makedirs(home)
    if megabytes:
        write_journal(os.path.join(home, "state", "ES"), megabytes)
    sup = dict(h.FAST_RESTART)
    sup["watchdog_seconds"] = 10
    sup["start_timeout_seconds"] = 60
    cfg = h.robot_config(["ES"], sup)
    h.write_json(os.path.join(home, "robot.json"), cfg)
    p = h.spawn([os.path.join(a.bin, "supervisor"), "run", "--config", os.path.join(home, "robot.json"), "--home", home],
                stderr=subprocess.PIPE)
    out = h.LineLog(p.stderr, os.path.join(home, "supervisor.log"))
    times, rss = [], []
    first_ms = None
    try:
        def ready_pid(since):
            for t, l in out.since(since):
                if " ready after " in l:
                    return t, int(l.split(" pid ")[1].split()[0])
            return None
        t0 = h.MONO()
        got = h.wait_for(lambda: ready_pid(0), 120, 0.01)
        if not got:
            raise RuntimeError(f"robot-worker never became ready with a {megabytes} MB journal")
        first_ms = (got[0] - t0) / 1e6
        pid = got[1]
        for r in range(rounds + 1):
            time.sleep(0.3)
            mark = len(out)
            t_kill = h.MONO()
            os.kill(pid, signal.SIGKILL)
            got = h.wait_for(lambda: ready_pid(mark), 60, 0.0005)
            if not got:
                raise RuntimeError("no ready replacement")
            pid = got[1]
            hwm = peak_rss_kb(pid)
            if r >= 1:
                times.append((got[0] - t_kill) / 1e6)
                if hwm:
                    rss.append(hwm / 1024)
    finally:
        h.end(p)
    s = h.summary(times)
    s["peak_rss_mb_max"] = round(max(rss), 1) if rss else None
    s["first_start_ms"] = round(first_ms, 1) if first_ms else None
    return s


def throughput(a, base):
    folder = os.path.join(base, "journal-throughput")
    os.makedirs(folder)
    path = os.path.join(folder, "events.ndjson")
    ours = json.loads(subprocess.run(
        [os.path.join(a.bin, "robot-worker"), "bench-journal", "--file", path, "--burst", "64", "--bursts", str(a.journal_bursts),
         "--rate", "1000", "--count", str(a.journal_latency_events)],
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    floor = json.loads(subprocess.run(
        [a.journal_floor, path, "300", str(a.journal_floor_events), "64", "1000", str(a.journal_latency_events)],
        check=True, capture_output=True, text=True).stdout.strip())
    return {"worker": ours, "floor": floor,
            "ratio_worker_to_floor_per_batch": round(ours["events_per_second"] / max(1, floor["per_batch_per_second"]), 3),
            "ratio_worker_to_floor_per_event": round(ours["events_per_second"] / max(1, floor["per_event_per_second"]), 1),
            "ratio_p99_worker_to_floor": round(ours["p99_us"] / max(1, floor["p99_us"]), 2)}


def bench_journal(a, base, results, h):
    rounds = getattr(a, "journal_rounds", 8)
    series = {}
    for mb in SIZES_MB:
        h.log(f"journal: {mb} MB un-acked…")
        series[str(mb)] = startup_series(a, h, base, mb, rounds)
    empty, largest = series["0"], series[str(SIZES_MB[-1])]
    results["journal_startup"] = {
        "sizes_mb": series,
        "ratio_time_largest_to_empty": round(largest["median"] / max(0.001, empty["median"]), 2),
        "ratio_rss_largest_to_empty": round((largest["peak_rss_mb_max"] or 0) / max(0.001, empty["peak_rss_mb_max"] or 1), 2),
    }
    h.log("journal: group commit against the floor…")
    results["journal_throughput"] = throughput(a, base)
