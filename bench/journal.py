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


BURSTS = [64, 256, 1024]


def throughput(a, base):
    """Group commit against the floor, burst by burst: the worker emits BURST events per loop
    iteration (one fdatasync each), the floor writes BURST lines per write+fdatasync; and one event
    per write+fdatasync for the floor alone. Latency at 1,000 events/s beside the floor's."""
    folder = os.path.join(base, "journal-throughput")
    os.makedirs(folder)
    path = os.path.join(folder, "events.ndjson")
    def ours(burst, bursts, count):
        return json.loads(subprocess.run(
            [os.path.join(a.bin, "robot-worker"), "bench-journal", "--file", path, "--burst", str(burst), "--bursts", str(bursts),
             "--rate", "1000", "--count", str(count)],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    def floor(batch, events, count):
        return json.loads(subprocess.run(
            [a.journal_floor, path, "300", str(events), str(batch), "1000", str(count)],
            check=True, capture_output=True, text=True).stdout.strip())
    rows = []
    for burst in BURSTS:
        events = max(burst * 200, a.journal_events)
        w = ours(burst, events // burst, 10)
        f = floor(burst, events, 10)
        rows.append({"burst": burst, "worker_events_per_second": w["events_per_second"],
                     "floor_events_per_second": f["per_batch_per_second"],
                     "ratio": round(w["events_per_second"] / max(1, f["per_batch_per_second"]), 3)})
    single = floor(1, a.journal_floor_events, a.journal_latency_events)
    lat = ours(64, 10, a.journal_latency_events)
    return {"bursts": rows, "floor_per_event_per_second": single["per_event_per_second"],
            "latency_1000_per_s": {"worker_p50_us": lat["p50_us"], "worker_p99_us": lat["p99_us"], "worker_max_us": lat["max_us"],
                                   "floor_p50_us": single["p50_us"], "floor_p99_us": single["p99_us"], "floor_max_us": single["max_us"],
                                   "ratio_p99": round(lat["p99_us"] / max(1, single["p99_us"]), 2)}}


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


def report(res, cell):
    """Section 7 of docs/BENCHMARKS.md (bench/report.py calls it), as lines; none without results."""
    st, tp = res.get("journal_startup"), res.get("journal_throughput")
    if not st and not tp:
        return []
    L = ["## 7. The worker's journal: start-up against its size, group commit against the floor\n"]
    if st:
        L.append("A supervised `robot-worker` (no watchdog) whose journal holds an earlier run's un-acked events as a long")
        L.append("outage leaves them (64 MiB sealed segments, then `events.ndjson`); the first start checks it whole and")
        L.append("records its verified prefix, then each SIGKILL is followed by the supervisor's restart: SIGKILL to the")
        L.append("replacement's `READY=1` (ms) and the replacement's peak RSS (`VmHWM`, MB) after it is ready.\n")
        L.append("| un-acked journal | SIGKILL to READY (ms) | p99 | peak RSS (MB, max) | first start, whole check (ms) |")
        L.append("| --- | --- | --- | --- | --- |")
        for mb, s in st["sizes_mb"].items():
            L.append(f"| {mb} MB | {cell(s)} | {s['p99']:.1f} | {s['peak_rss_mb_max']} | {s['first_start_ms']} |")
        ok_t, ok_r = st["ratio_time_largest_to_empty"] <= 2, st["ratio_rss_largest_to_empty"] <= 2
        L.append(f"\nLargest against empty: time {st['ratio_time_largest_to_empty']}x, RSS {st['ratio_rss_largest_to_empty']}x. "
                 f"Target (both within 2x): {'met' if ok_t and ok_r else 'MISSED'}.\n")
    if tp:
        L.append("Group commit (`robot-worker bench-journal`: `EventLog` on a `Reactor`, BURST events per loop iteration, one")
        L.append("`write` and one `fdatasync` per iteration, each event forwarded only after it) beside `bench/journal_floor.c`")
        L.append("writing BURST 300-byte lines per `write`+`fdatasync` on the same file system:\n")
        L.append("| burst | worker (events/s) | floor (events/s) | worker / floor |")
        L.append("| --- | --- | --- | --- |")
        for r in tp["bursts"]:
            L.append(f"| {r['burst']} | {r['worker_events_per_second']:,} | {r['floor_events_per_second']:,} | {r['ratio']} |")
        lat = tp["latency_1000_per_s"]
        best = max(r["worker_events_per_second"] for r in tp["bursts"])
        L.append(f"\nThe floor with one `fdatasync` per line: {tp['floor_per_event_per_second']:,} events/s (the worker before")
        L.append(f"group commit synced every event). Emit to durable at 1,000 events/s: worker p50 {lat['worker_p50_us']} µs,")
        L.append(f"p99 {lat['worker_p99_us']} µs (max {lat['worker_max_us']}); the floor's write+fdatasync p50 {lat['floor_p50_us']} µs,")
        L.append(f"p99 {lat['floor_p99_us']} µs (max {lat['floor_max_us']}); p99 ratio {lat['ratio_p99']}. Targets: at least")
        L.append(f"50,000 events/s: {'met' if best >= 50000 else 'MISSED'} (best {best:,}); p99 below 2 ms: "
                 f"{'met' if lat['worker_p99_us'] < 2000 else 'MISSED'}.\n")
    return L
