"""Writes docs/BENCHMARKS.md from the harness's results.json and the micro-benchmarks' output.

    python3 report.py RESULTS.json MICRO.txt OUT.md
"""

import datetime
import json
import os
import platform
import subprocess
import sys

import journal  # bench/journal.py
import venue  # bench/venue.py writes its own section


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"


def fmt(v, unit="", digits=2):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    return f"{v:.{digits}f}{unit}"


def cell(s, unit="", digits=2, scale=1.0):
    if not s:
        return "-"
    return f"{fmt(s['median'] * scale, unit, digits)} ({fmt(s['min'] * scale, '', digits)}–{fmt(s['max'] * scale, '', digits)})"


def micro_tables(text):
    """The benchmark tool's markdown tables from its output: the build log and its baseline header
    dropped, headings moved under this document's, and the CPU-time row dropped (the tool samples
    CPU time in 10 ms ticks, so for sub-microsecond operations it reads 0 or 10,000 ns)."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("## ") and "Baseline" not in l), None)
    if start is None:
        return "(no results: see .build-bench/micro.txt)"
    out = []
    for l in lines[start:]:
        if "Time (total CPU)" in l:
            continue
        out.append("#" + l if l.startswith("#") else l)
    return "\n".join(out).strip()


def main(res_path, micro_path, out_path):
    r = json.load(open(res_path))
    micro = micro_tables(open(micro_path).read()) if os.path.exists(micro_path) else "(not run)"
    L = []
    w = L.append
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    w("# Benchmarks\n")
    w("Reproduce everything here with one command: `scripts/bench` (docs below; about 7 minutes on 2 cores). It builds the")
    w("release binaries, installs the peers (s6 and runit from Debian's packages, supervisord 4 from PyPI into")
    w("`.build-bench/venv`), runs every benchmark with warm-up and repetitions, and rewrites this file.\n")
    mem = sh("free -g | awk '/Mem/{print $2}'")
    kernel = sh("uname -sr")
    swiftv = sh("swift --version 2>&1 | head -1")
    pyv = sh("python3 --version")
    s6v = sh("dpkg-query -W -f='${Version}' s6")
    runitv = sh("dpkg-query -W -f='${Version}' runit")
    sdv = sh(".build-bench/venv/bin/supervisord --version")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w(f"Last run: {now} on {platform.node()}: {os.cpu_count()} cores ({cpu}), {mem} GiB, {kernel}, {swiftv}, {pyv}, "
      f"s6 {s6v}, runit {runitv}, supervisord {sdv}.\n")
    w("**The machine may be shared** with other work while this runs, so absolute figures move from run")
    w("to run; every comparison below is a ratio of figures measured in the same run, interleaved (round-robin,")
    w("in random order) so that a noisy moment hits every contender alike. Cells read `median (min–max)`.\n")

    w("## How each figure is taken\n")
    w("- The supervised child is `bench/tiny_child.c`: its first instruction reads CLOCK_MONOTONIC and appends")
    w("  it to a stamp file; the harness (`bench/harness.py`) takes its kill times with `time.monotonic_ns()`,")
    w("  the same clock. Under runit and s6 the service's `run` is a symlink to the child itself (no shell in")
    w("  between); under s6 the child writes its readiness newline to `notification-fd`; under our supervisor")
    w("  it sends `READY=1` with one datagram to `$NOTIFY_SOCKET`; supervisord runs it with `autorestart=true,")
    w("  startsecs=0`. Each child has run more than 1 s before it is killed: runit, s6 and supervisord hold back")
    w("  a restart of a service that ran less than a second.")
    w("- The watchdog's peer is `bench/peer_server.py`: Python asyncio on a Unix socket, 64 KiB reads,")
    w("  `json.loads`, the envelope checks, per-run seq de-duplication, a dict update and an ack per read; no")
    w("  snapshot (the watchdog writes and fsyncs its snapshot before it acks, so the peer does less work).")
    w("  Beside them, as a reference and not a peer, `bench/raw_server.c` answers like a server and does")
    w("  nothing else: the ceiling of the socket and the writers, and the floor of the latency. All three run")
    w("  pinned to core 0 (`taskset -c 0`), the writers (`bench/ingest_writer.c`) on core 1. A writer takes")
    w("  its market's lock like a worker, connects, sends a valid hello with its own pid, writes its events")
    w("  (~230 bytes each) and reads acks until one covers its last seq: events/s = all events / (first write")
    w("  to last ack), so the figure is what was validated, applied, de-duplicated, saved and acknowledged. A")
    w("  fresh server for each run; the watchdog on its default configuration.\n")

    # 1
    w("## 1. Crash to replacement\n")
    c = r.get("crash")
    if c:
        n = next(iter(c.values()))["n"]
        best_peer = min((v["median"], k) for k, v in c.items() if not k.startswith("robot"))
        w(f"SIGKILL of a running tiny child to its replacement's first instruction, {n} kills each (after 3 warm-up")
        w("kills), interleaved. Milliseconds.\n")
        w("| supervisor | p50 (min–max) | p99 | ratio of p50 to ours |")
        w("| --- | --- | --- | --- |")
        ours = c["robot-runtime supervisor"]["median"]
        for k, v in c.items():
            w(f"| {k} | {fmt(v['median'], '', 2)} ({fmt(v['min'])}–{fmt(v['max'])}) | {fmt(v['p99'])} | {v['median'] / ours:.2f}x |")
        w("")
        w(f"Best peer in this run: {best_peer[1]}, p50 {best_peer[0]:.2f} ms; ours {ours:.2f} ms "
          f"({'at or below' if ours <= best_peer[0] else 'ABOVE'} it); our p99 {c['robot-runtime supervisor']['p99']:.2f} ms "
          f"(target < 5 ms: {'met' if c['robot-runtime supervisor']['p99'] < 5 else 'MISSED'}).\n")
    wr = r.get("worker_ready")
    if wr:
        w(f"The real `robot-worker` under our supervisor, SIGKILL to the replacement's `READY=1` (the time the")
        w(f"supervisor's 'ready' log line reached the harness, so an upper bound), {wr['n']} kills: p50 "
          f"{wr['median']:.1f} ms, p99 {wr['p99']:.1f} ms, min–max {wr['min']:.1f}–{wr['max']:.1f} ms "
          f"(target p99 < 50 ms: {'met' if wr['p99'] < 50 else 'MISSED'}).\n")
    s = r.get("start")
    if s:
        m = r.get("start_memory", {})
        w("### Starting 100 children until all run\n")
        w("From starting the supervisor (`supervisor run`, `s6-svscan`, `runsvdir`, `supervisord`) to the first")
        w("instruction of the last of 100 tiny children; then the memory of the supervisor's own processes (not")
        w(f"the children), from `/proc/PID/smaps_rollup`. {next(iter(s.values()))['n']} repetitions each.\n")
        w("| supervisor | seconds to all 100 running | vs ours | RSS | PSS | processes |")
        w("| --- | --- | --- | --- | --- | --- |")
        ours = s["robot-runtime supervisor"]["median"]
        for k, v in s.items():
            mm = m.get(k, {})
            w(f"| {k} | {cell(v, '', 3)} | {v['median'] / ours:.2f}x | {mm.get('rss', 0) / 1e6:.1f} MB | {mm.get('pss', 0) / 1e6:.1f} MB | {mm.get('processes', '-')} |")
        best = min(v["median"] for k, v in s.items() if not k.startswith("robot"))
        w(f"\nTarget (at or below the best peer, {best:.3f} s): {'met' if ours <= best else 'MISSED'}.\n")

    h = r.get("hung")
    if h:
        cfg = r.get("hung_config", {})
        w("## 2. Hung worker\n")
        w(f"SIGSTOP of a tiny child that pings `WATCHDOG=1` every `WATCHDOG_USEC`/4 under our supervisor with")
        w(f"`watchdog_seconds` {cfg.get('watchdog_seconds')} and `watchdog_kill_grace_seconds` {cfg.get('watchdog_kill_grace_seconds')};")
        w(f"from its last `WATCHDOG=1` (stamped by the child) to its replacement's start and `READY=1` (sent")
        w(f"microseconds after). {h['n']} repetitions: p50 {h['median']:.1f} ms, min–max {h['min']:.1f}–{h['max']:.1f} ms.")
        lim = (cfg.get("watchdog_seconds", 0)) * 1000 + 50
        w(f"Target: within the watchdog timeout + 50 ms = {lim:.0f} ms: {'met' if h['max'] <= lim else 'MISSED'} (worst {h['max']:.1f} ms).")
        hd = r.get("hung_default_grace")
        if hd:
            cd = r.get("hung_default_grace_config", {})
            lim = (cd.get("watchdog_seconds", 0) + cd.get("watchdog_kill_grace_seconds", 0)) * 1000 + 50
            w(f"\nAt the **default** kill grace ({cd.get('watchdog_kill_grace_seconds')} s, what a user who sets nothing gets), the same")
            w(f"SIGSTOP, {hd['n']} repetitions: p50 {hd['median']:.1f} ms, min–max {hd['min']:.1f}–{hd['max']:.1f} ms. A stopped process")
            w("cannot act on SIGABRT, so it ends only by the SIGKILL at the end of the grace, and a wedged `robot-worker`")
            w("(event loop stuck, process running) spends the grace in the Swift runtime's backtrace after SIGABRT, so the")
            w(f"grace is spent whole either way. Target: within {lim:.0f} ms (timeout + grace + 50 ms): "
              f"{'met' if hd['max'] <= lim else 'MISSED'} (worst {hd['max']:.1f} ms).")
        w("\nNo peer: runit, s6 and supervisord have no liveness watchdog (systemd's `WatchdogSec=` is the model of ours).\n")

    ing = r.get("ingest")
    if ing:
        w("## 3. Watchdog ingestion\n")
        w("Events/s validated, applied, de-duplicated, saved and acknowledged; the server pinned to one core. The")
        w("raw socket (`bench/raw_server.c`: reads and acks the last seq of each read, no parsing, no state)")
        w("is no peer: it is what the socket and the writers allow, so the last column says how much of that the")
        w("watchdog uses.\n")
        w("| writers, writes | watchdog (events/s) | Python asyncio peer (events/s) | ratio | raw socket, no work (events/s) | watchdog / raw |")
        w("| --- | --- | --- | --- | --- | --- |")
        for k, v in ing.items():
            wv, pv, rv = v["watchdog"], v["python"], v.get("raw")
            raw = f"{cell(rv, '', 0)} | {wv['median'] / rv['median']:.2f}" if rv else "- | -"
            w(f"| {k} | {cell(wv, '', 0)} | {cell(pv, '', 0)} | {wv['median'] / pv['median']:.1f}x | {raw} |")
        lo = min(v["watchdog"]["median"] for v in ing.values())
        lor = min(v["watchdog"]["median"] / v["python"]["median"] for v in ing.values())
        w(f"\nTarget (≥ 400 k/s on one core and ≥ 3x the peer, in every row): lowest {lo:,.0f}/s, lowest ratio {lor:.1f}x: "
          f"{'met' if lo >= 400_000 and lor >= 3 else 'MISSED'}.\n")

    db = r.get("dashboard")
    if db:
        w("### 3a. Ingestion with the dashboard's event streams open\n")
        w(f"The row \"{db['row']}\" again, with the watchdog's dashboard on and {db['streams_open']} `/api/stream` clients")
        w("reading every update (ten browsers' worth; each got at least "
          f"{db['least_bytes_per_stream']:,} bytes of updates during a run), against the row without them, in alternating order.\n")
        w("| watchdog | events/s |")
        w("| --- | --- |")
        w(f"| without the dashboard | {cell(db['without'], '', 0)} |")
        w(f"| dashboard on, {db['streams_open']} streams open | {cell(db['streams'], '', 0)} |")
        w(f"\nRatio (with / without): {db['ratio']:.3f}. Target (the page costs ingestion nothing measurable: within the"
          f" runs' own spread, ratio ≥ 0.95): {'met' if db['ratio'] >= 0.95 else 'MISSED'}.\n")

    lat = r.get("latency")
    if lat:
        w("## 4. Event latency at 1,000 events/s\n")
        w("One writer, one event per write at 1,000/s; between sends the writer spins on its socket (it has core 1 to")
        w("itself), so a reply is stamped when it arrives, not when the writer is woken. **Write to applied**: from the write to the")
        w("first message saying the event is applied to the server's live state: the watchdog's `applied` notice")
        w("(the writer's hello asks for them, docs/PROTOCOL.md; workers do not ask for it), the peers' ack. **Write")
        w("to durable ack**, what a worker acts on (it drops an event from its backlog only then): the watchdog acks once")
        w("a snapshot holding the event is written and fsynced (its default configuration: written as soon as input")
        w("pauses); the durable Python peer (`peer_server.py --durable`) acks once the lines it applied are appended to")
        w("its file and fdatasynced (one sync per read). The plain Python peer writes nothing: its ack is not durable,")
        w("kept for reference. State on ext4. The first 100 events of each run are warm-up. Per-run p50 and p99,")
        w("median (min–max) over the runs, in µs.\n")
        w("| server | applied p50 µs | applied p99 µs | durable ack p50 µs | durable ack p99 µs |")
        w("| --- | --- | --- | --- | --- |")
        names = {"watchdog": "watchdog", "python_durable": "Python asyncio peer, fdatasync before its ack",
                 "python": "Python asyncio peer, no sync (reference)", "raw": "raw socket, no work (floor)"}
        for k, v in lat.items():
            if k in ("watchdog", "python_durable"):
                ack = f"{cell(v['ack_p50'], '', 0)} | {cell(v['ack_p99'], '', 0)}"
            else:
                ack = "(not durable) | -"
            w(f"| {names.get(k, k)} | {cell(v['applied_p50'], '', 0)} | {cell(v['applied_p99'], '', 0)} | {ack} |")
        o, p = lat["watchdog"]["applied_p99"]["median"], lat["python"]["applied_p99"]["median"]
        w(f"\nTarget (our write-to-applied p99 ≤ half the plain peer's): {o:.0f} µs vs {p:.0f} µs, ratio {o / p:.2f}: "
          f"{'met' if o <= p / 2 else 'MISSED'}.")
        if "python_durable" in lat:
            d50, d99 = lat["watchdog"]["ack_p50"]["median"], lat["watchdog"]["ack_p99"]["median"]
            q50, q99 = lat["python_durable"]["ack_p50"]["median"], lat["python_durable"]["ack_p99"]["median"]
            w(f"Target (our durable ack at or below the durable peer's, p50 and p99): p50 {d50:.0f} vs {q50:.0f} µs, "
              f"p99 {d99:.0f} vs {q99:.0f} µs: {'met' if d50 <= q50 and d99 <= q99 else 'MISSED'}.")
        if "raw" in lat:
            f99, f50 = lat["raw"]["applied_p99"]["median"], lat["raw"]["applied_p50"]["median"]
            w(f"The floor, a C server that does nothing but answer (the socket, and the server woken on its idle core), measured")
            def rel(x):
                return f"{abs(x - f99):.0f} µs {'above' if x >= f99 else 'below'} it"
            w(f"p50 {f50:.0f} / p99 {f99:.0f} µs in the same run; the watchdog's p99 is {rel(o)}, the peer's {rel(p)}.")
        w("")

    sc = r.get("scale")
    if sc:
        w(f"## 5. Scale: {sc['markets']} markets\n")
        w(f"One supervisor and one watchdog, {sc['markets']} real `robot-worker`s with 1 s heartbeats (state on ext4).\n")
        w("| figure | robot-runtime | supervisord, same workers |")
        w("| --- | --- | --- |")
        w(f"| supervisor run to all RUNNING (READY=1) | {sc['all_running_seconds']:.2f} s | - |")
        w(f"| supervisor CPU, idle {sc['idle_seconds']:.0f} s | {sc['supervisor_cpu_percent']:.2f} % of a core | {sc.get('supervisord_cpu_percent', 0):.2f} % |")
        w(f"| watchdog CPU, idle | {sc['watchdog_cpu_percent']:.2f} % of a core | - |")
        w(f"| supervisor RSS / PSS | {sc['supervisor_rss'] / 1e6:.1f} / {sc['supervisor_pss'] / 1e6:.1f} MB | {sc.get('supervisord_rss', 0) / 1e6:.1f} / {sc.get('supervisord_pss', 0) / 1e6:.1f} MB |")
        w(f"| watchdog RSS / PSS | {sc['watchdog_rss'] / 1e6:.1f} / {sc['watchdog_pss'] / 1e6:.1f} MB | - |")
        w(f"| one worker RSS / PSS | {sc['worker_rss'] / 1e6:.1f} / {sc['worker_pss'] / 1e6:.1f} MB | - |")
        w(f"| all workers RSS / PSS | {sc['workers_total_rss'] / 1e6:.0f} / {sc['workers_total_pss'] / 1e6:.0f} MB | - |")
        ok = (sc["all_running_seconds"] <= 5, sc["supervisor_cpu_percent"] < 2 and sc["watchdog_cpu_percent"] < 2,
              sc["supervisor_rss"] < sc.get("supervisord_rss", 0))
        w(f"\nTargets: all ready within 5 s: {'met' if ok[0] else 'MISSED'}; supervisor and watchdog each below 2 % of a core: "
          f"{'met' if ok[1] else 'MISSED'}; supervisor RSS below supervisord's: {'met' if ok[2] else 'MISSED'} "
          f"({sc['supervisor_rss'] / sc.get('supervisord_rss', 1):.2f}x).\n")
        ch = sc.get("chaos")
        if ch:
            w("## 6. Chaos\n")
            ok = ch["writers_ok"] and ch["writer_runs_complete"] and ch["gaps"] == 0
            w(f"In the scale setup, 4 writers (markets of their own, each holding its market's lock like a worker) send")
            w(f"{ch['writer_events']:,} events flat out while real workers are SIGKILLed every 50 ms ({ch['kills']} kills; each")
            w(f"replacement re-sends its un-acked journal). Every writer received the ack of its last seq: {ch['writers_ok']};")
            w(f"every writer run shows applied == its count in the watchdog's status: {ch['writer_runs_complete']}; gaps over")
            w(f"all markets: {ch['gaps']}; duplicates counted (re-sent, never applied twice): {ch['duplicates_counted_not_applied']}.")
            if "worker_runs_checked" in ch:
                ok = ok and ch["oracle_violation_count"] == 0
                w(f"The workers it killed, checked by the chaos test's oracle (`scenarios/chaos/oracle.py`): the stack settled")
                w(f"(nothing journaled left unapplied) {ch['settle_seconds']} s after the last kill; every run of every worker")
                w(f"market against its journal: {ch['worker_runs_checked']} runs, {ch['worker_events_lost']} events lost,")
                w(f"{ch['worker_events_applied_twice']} applied twice, {ch['aggressive_windows']} AGGRESSIVE windows, "
                  f"{ch['oracle_violation_count']} violations (overlapping windows, fences)"
                  + (f": {'; '.join(ch['oracle_violations'][:3])}" if ch["oracle_violations"] else "") + ".")
            w(f"Target (0 lost, 0 duplicated, no oracle violation): {'met' if ok else 'MISSED'}.\n")

    for line in journal.report(r, cell):  # bench/journal.py
        w(line)
    qi = r.get("quiet")
    if qi:
        w("## 5a. The watchdog at rest\n")
        w("One watchdog and, standing in for that many idle workers, one process (`bench/quiet_fleet.py`) that holds")
        w("every market's lock and sends each market's heartbeat every second and its `IDENTITY_INVARIANTS_STATUS` (an")
        w("acked event) right after its welcome and then every minute, the markets' phases spread as independent")
        w("workers' are. CPU: the watchdog's own")
        w(f"utime + stime, every thread, over {qi['idle_seconds']:.0f} s after 3 s of settling (other load on the machine")
        w("hardly moves it); wakeups: its threads' context switches per second. Median (min–max) over"
          f" {qi['reps']} runs.\n")
        w("| markets | watchdog CPU, % of a core | wakeups/s |")
        w("| --- | --- | --- |")
        for case, v in qi["idle"].items():
            v = v["this"]
            w(f"| {case.replace('1000', '1,000')} | {cell(v['cpu_percent'], '', 2)} | {cell(v['wakeups_per_second'], '', 0)} |")
        c200 = qi["idle"]["200"]["this"]["cpu_percent"]["median"]
        w(f"\nTarget (below 1 % of a core with 200 markets at 1 s heartbeats): {c200:.2f} %: {'met' if c200 < 1 else 'MISSED'}.\n")
        rl = qi.get("rest_latency", {}).get("this")
        if rl:
            w("A sparse stream beside the 200 quiet markets (one writer, 50 events/s, `bench/quiet.py` `rest_latency`):")
            w(f"write to applied p50 {cell(rl['applied_p50'], '', 0)} µs, p99 {cell(rl['applied_p99'], '', 0)} µs;")
            w(f"write to durable ack p50 {cell(rl['ack_p50'], '', 0)} µs, p99 {cell(rl['ack_p99'], '', 0)} µs. A line that")
            w("arrives while the loop rests between heartbeat wakeups waits up to 20 ms (docs/watchdog.md, \"Heartbeats\").\n")

    for line in venue.section(r):
        w(line)
    import multihost  # bench/multihost.py renders its own section (the lease across hosts)
    for line in multihost.section(r):
        w(line)
    w("## Notes: what limits the figures, and what was changed\n")
    w("- Ingestion (3) is the watchdog's CPU per line plus the kernel's per write. Callgrind (instruction counts,")
    w("  steady on a shared machine; 16 writers, one line per write, 50,000 events) followed the per-event path:")
    w("  28 k instructions at first (a `JSONValue` tree per line: one `String` per key and value, each allocated and")
    w("  freed); 23 k after the parser's fast paths (ASCII UTF-8 check, length-first key comparisons); 12.7 k once")
    w("  `EnvelopeScanner` read the envelope straight from the bytes; 11.0 k once `data` stayed the line's bytes,")
    w("  checked in place by `JSONSkimmer` and parsed only when a rule reads it; 9.4 k once the state update changed")
    w("  the market in its dictionary slot (no copy) and found the event type with one hash lookup. What is left is")
    w("  the envelope's four strings, the state update and the event's release. With one line per write, the")
    w("  kernel's share (about half a microsecond per read and wakeup) is as large as ours, and the raw column")
    w("  shows the ceiling the socket and the writers set: there the watchdog gets most of what any server could.")
    w("- Latency (4): at one event a millisecond every server sleeps between events, and waking it is most of")
    w("  the figure: the raw server, which does nothing else, shows what that costs on this VM. Three changes")
    w("  brought the watchdog down to it: the snapshot's write and fsyncs moved off the loop to a thread of their")
    w("  own (an event arriving during a save used to wait for the disk); the `applied` notice and the ack are")
    w("  formatted directly (a `JSONEncoder` per notice cost about 7 µs); and the harness's writer now spins")
    w("  between sends instead of sleeping, which had added its own wakeup to every contender's figure. The")
    w("  watchdog's tail can come out below the raw server's; our reading (not measured) is that between events")
    w("  its snapshot thread works on the same core, so that core is seldom deeply idle when the next event")
    w("  arrives. The durable ack is a group commit: the snapshot is encoded as soon as input pauses and written,")
    w("  fsynced, renamed and its folder fsynced by that thread (about a millisecond on this ext4).")
    w("- Watchdog idle CPU (5): a first run measured 4.85 % of a core: the watchdog saved its whole state within")
    w("  50 ms of every heartbeat (about 20 snapshots a second for 200 markets at 1 s). Heartbeats are never")
    w("  acked, so heartbeat-only changes and rejection counters are saved within 2 s, not at once.")
    w("- The watchdog at rest (5a), profiled with `perf record` and `strace -c` on 200 quiet markets: 45 % of its")
    w("  CPU went to encoding the whole state through `JSONEncoder` for every acked event (each market's")
    w("  `IDENTITY_INVARIANTS_STATUS`, 3.3 a second over 200 markets), 21 % to reading heartbeats and 14 % to")
    w("  `epoll_wait`. Now `SnapshotEncoder` keeps each market's settled fields encoded and writes only the")
    w("  heartbeat fields, counters and runs by hand; the loop no longer polls for an idle moment when nothing")
    w("  waits for one (one `epoll_wait` per heartbeat instead of two); a heartbeat's `mode` is read in place")
    w("  instead of parsing its `data`; the metrics sync sets only gauges that changed. That left one wakeup, one")
    w("  read and one event per heartbeat (about 240 wakeups a second), and the wakeup (the context switch and")
    w("  `epoll_wait`: 26 % of the CPU) cost more than the heartbeat. Now, after a turn of heartbeats only and")
    w("  while more than 50 a second arrive, the loop rests 20 ms before it looks again (`HeartbeatCoalescing`),")
    w("  so about five heartbeats share a wakeup: about 96 wakeups a second, `epoll_wait` and the sleep 16 %.")
    w("  The cost is a read up to 20 ms later for a line that arrives during a rest (the sparse stream above);")
    w("  a stream of events is not delayed (4). The largest item left was the snapshot per acked event (a third")
    w("  of the CPU: 200 markets' passing identity statuses, each a save of the whole state); a passing status")
    w("  after a passing one is now saved lazily, within 2 s, like a heartbeat (docs/watchdog.md, \"Files\"), and")
    w("  at rest that was what mattered on a quiet machine (5a).")
    w("  With 1,000 markets a save per acked event writes 1.3 MB:")
    w("  the spacing rule counts the writer thread's CPU too, which bounds the snapshots to about a tenth of")
    w("  a core; a save per ack of the whole state is what costs there.")
    w("- Write-to-applied tail (4): between an event's `applied` notice and the next event the loop encoded")
    w("  the snapshot through `JSONEncoder` (half the loop's CPU at 1,000 events/s); `SnapshotEncoder` writes a")
    w("  market whose runs and counters alone changed by hand (under a fifth of it). The snapshot thread's write and")
    w("  fsyncs, pinned to the loop's core, compete with the loop's wakeups: that is the durable ack itself.")
    w("- Hung worker (2): a stopped process does not take SIGABRT, so the replacement waits for the SIGKILL after")
    w("  `watchdog_kill_grace_seconds`; the figure is timeout + grace + the spawn. The first series uses 0.01 s to")
    w("  show the supervisor's own reaction; the second the default 2 s, which is what a user gets: the grace is")
    w("  there for a worker that can still write its state on SIGABRT, and it costs its full length on every hang.")
    w("- Durable ack (4): the plain Python peer acks what it has only in memory, so comparing the watchdog's ack")
    w("  with it compared a fsync with none; the durable peer does the same work plus one `fdatasync` per read of")
    w("  its socket before the ack (a group commit, like the watchdog's snapshot), on the same file system.")
    w("- Chaos (6): the killed workers are checked by the chaos test's own oracle (imported, not copied), so")
    w("  \"met\" means every run of every worker market was checked against its journal after the stack settled.")
    w("- The real worker's READY=1 (1) includes its start-up checks (journal read, lock, fence file, identity")
    w("  invariants) before it reports ready; its tail is the machine's load (2 cores shared).\n")
    from strategy import section as strategy_section  # bench/strategy.py: its own section
    w(strategy_section(r))
    w("## Micro-benchmarks of the hot paths\n")
    w("`Benchmarks/` is a package of its own (ordo-one/benchmark 1.38.1) that depends on this one by path, so")
    w("the normal build and CI never compile it: `swift package --package-path Benchmarks benchmark`.\n")
    w(micro + "\n")
    open(out_path, "w").write("\n".join(L))


if __name__ == "__main__":
    main(*sys.argv[1:4])
