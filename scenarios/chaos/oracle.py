"""The chaos oracle: what users rely on, checked from the workers' journals, the watchdog's status and
what the observer saw itself (the flock holders in /proc/locks, the orders it placed). Shared by
scenarios/chaos/chaos.py and the benchmark's chaos section (bench/harness.py imports this file).

Written in Python on purpose: it shares no code with what it checks (its own journal and /proc/locks
readers), and it stays out of the package's build. Only the standard library.

Per market, it checks:
- **Exactly once.** Every run's journaled seqs are 1..n once each. The watchdog applied every run up to
  its last journaled seq; runs it no longer lists (it keeps 64 per market) are judged by the highest
  applied seq seen while it listed them (`AppliedHistory`, fed by polling its status during the run).
  Its `events` counter equals the sum of every run's applied seq, so a loss in one run cannot hide
  behind a double apply in another, and it counted no gaps.
- **One executor at a time.** A run is AGGRESSIVE (may trade) from its `SYSTEM_MODE_CHANGE` to
  AGGRESSIVE until its next mode change, or else until it died: `monotonic_ns` in the event (the
  host's CLOCK_MONOTONIC, one clock for every process) and, for the end of a run that died or stopped,
  the last moment the observer saw its pid hold the market's lock (a lower bound of its end, so an
  overlap found is a real one). No two runs' windows overlap.
- **Fences.** Acquisitions' fences strictly increase, and a run takes the lock only after its
  predecessor released it or was reported stale, unless the lock file had been deleted or replaced
  (a fault the observer injects) in between.
- **Orders.** Client order IDs are unique per market; fences of `ORDER_PLACED` never go down in
  journal order; every order the observer was told was placed is journaled, and their fences never go
  down in order of placement.
"""

import calendar
import json
import os
import re
import threading
import time


def read_journal(path):
    """The events of one journal file, in file order; undecodable lines counted."""
    events, bad = [], 0
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return events, bad
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            e = json.loads(line)
            if not isinstance(e, dict) or "run_id" not in e:
                raise ValueError
            events.append(e)
        except ValueError:
            bad += 1
    return events, bad


class JournalCache:
    """Reads journal files incrementally: only the bytes appended since the last read are parsed, so
    polling the journals of an hour-long run stays cheap. A file replaced (another inode) or shorter
    than before is read again from the start."""

    def __init__(self):
        self.files = {}  # path -> [inode, offset, events, bad]
        self.lock = threading.Lock()

    def read(self, path):
        with self.lock:
            try:
                with open(path, "rb") as f:
                    st = os.fstat(f.fileno())
                    known = self.files.get(path)
                    if not known or known[0] != st.st_ino or st.st_size < known[1]:
                        known = self.files[path] = [st.st_ino, 0, [], 0]
                    f.seek(known[1])
                    data = f.read()
            except OSError:
                return [], 0
            end = data.rfind(b"\n") + 1  # a line still being written is read next time
            for line in data[:end].split(b"\n"):
                if not line:
                    continue
                try:
                    e = json.loads(line)
                    if not isinstance(e, dict) or "run_id" not in e:
                        raise ValueError
                    known[2].append(e)
                except ValueError:
                    known[3] += 1
            known[1] += end
            return list(known[2]), known[3]


def journal_events(home, market, cache=None):
    """(events, undecodable lines) of a market's journal, the rotated file first."""
    events, bad = [], 0
    for name in ("events.1.ndjson", "events.ndjson"):
        path = os.path.join(home, "state", market, name)
        e, b = cache.read(path) if cache else read_journal(path)
        events += e
        bad += b
    return events, bad


def runs_of(events):
    """run_id -> list of seqs (heartbeats have none)."""
    runs = {}
    for e in events:
        if e.get("seq") is not None:
            runs.setdefault(e["run_id"], []).append(e["seq"])
    return runs


def wall_seconds(ts):
    """Seconds since the epoch of a wire timestamp (`2026-11-21T07:15:00.123456Z`); None if not one."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", ts or "")
    if not m:
        return None
    whole = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return whole + (float("0." + m.group(7)) if m.group(7) else 0.0)


def run_started(run_id):
    """Seconds since the epoch of the moment a run was named (`ES-20261121T071500Z-4f3a9c1b`: the worker
    names its run before it takes the lock, to the second); None if the ID is not of that form."""
    m = re.search(r"-(\d{8})T(\d{6})Z-[0-9a-f]+$", run_id or "")
    if not m:
        return None
    d, t = m.groups()
    return wall_seconds(f"{d[:4]}-{d[4:6]}-{d[6:]}T{t[:2]}:{t[2:4]}:{t[4:]}Z")


def flock_holders():
    """(major, minor, inode) -> [pid] for every FLOCK held (waiters excluded), read from /proc/locks."""
    table = {}
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return table
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue  # "->" lines (waiters) have the arrow in fields[1]
        dev = fields[5].split(":")
        if len(dev) != 3:
            continue
        key = (int(dev[0], 16), int(dev[1], 16), int(dev[2]))
        table.setdefault(key, []).append(int(fields[4]))
    return table


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2]
    except (OSError, ValueError):
        return None


class LockWatch(threading.Thread):
    """Every `period` seconds: the holders of every inode each market's lock file has had (a lock file
    deleted or replaced leaves its holder on the old inode). Records, per (market, pid), the last
    monotonic ns at which the pid held the lock (read *after* the clock, so the pid was alive then or
    later); two holders of one inode (the kernel forbids it); and, while `measuring`, the longest time
    a market had no running (not stopped) holder."""

    def __init__(self, lock_path, markets, period=0.01):
        super().__init__(daemon=True)
        self.lock_path = lock_path
        self.markets = list(markets)
        self.period = period
        self.stop_flag = threading.Event()
        self.samples = 0
        self.inodes = {m: set() for m in self.markets}
        self.last_held_ns = {}  # (market, pid) -> ns
        self.double = []  # (time, market, pids)
        self.longest_gap = {m: 0.0 for m in self.markets}
        self.down_since = {}
        self.measuring = False

    def sample(self):
        for m in self.markets:
            try:
                st = os.stat(self.lock_path(m))
                self.inodes[m].add((os.major(st.st_dev), os.minor(st.st_dev), st.st_ino))
            except OSError:
                pass
        now = time.monotonic_ns()
        table = flock_holders()
        self.samples += 1
        for m in self.markets:
            pids = set()
            for key in self.inodes[m]:
                holders = set(table.get(key, []))
                if len(holders) > 1:
                    self.double.append((time.time(), m, sorted(holders)))
                pids |= holders
            for p in pids:
                self.last_held_ns[(m, p)] = now
            if not self.measuring:
                continue
            running = any(proc_state(p) not in (None, "T", "t", "Z", "X") for p in pids)
            if running:
                since = self.down_since.pop(m, None)
                if since is not None:
                    self.longest_gap[m] = max(self.longest_gap[m], (now - since) / 1e9)
            else:
                self.down_since.setdefault(m, now)

    def run(self):
        while not self.stop_flag.is_set():
            self.sample()
            time.sleep(self.period)

    def finish(self):
        self.stop_flag.set()
        if self.is_alive():
            self.join()
        self.sample()
        now = time.monotonic_ns()
        for m, since in self.down_since.items():
            self.longest_gap[m] = max(self.longest_gap[m], (now - since) / 1e9)


class AppliedHistory:
    """The highest applied seq the watchdog's status ever showed for each (market, run): the record of
    runs it has since forgotten (it lists the last 64 per market). Fed by `record` from any thread."""

    def __init__(self):
        self.applied = {}
        self.lock = threading.Lock()
        self.statuses = 0

    def record(self, status):
        if not status:
            return
        with self.lock:
            self.statuses += 1
            for m, ms in (status.get("markets") or {}).items():
                for r in ms.get("runs", []):
                    key = (m, r.get("run_id"))
                    self.applied[key] = max(self.applied.get(key, 0), r.get("applied_seq", 0))

    def get(self, market, run):
        with self.lock:
            return self.applied.get((market, run))

    def runs(self, market):
        with self.lock:
            return {r: a for (m, r), a in self.applied.items() if m == market}


class StatusPoller(threading.Thread):
    """Calls `status()` every `period` seconds and records what it shows in `history`."""

    def __init__(self, status, history, period=0.5):
        super().__init__(daemon=True)
        self.status, self.history, self.period = status, history, period
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            self.history.record(self.status())
            self.stop_flag.wait(self.period)

    def finish(self):
        self.stop_flag.set()
        self.join()


def applied_figures(market, before, after, status, history):
    """Compares one market's journal, read just `before` and just `after` the watchdog's `status`.
    Returns (figures, problems). IN FLIGHT: seqs journaled before the status was asked that it had not
    applied (zero once settled); LATE: seqs journaled after the status was asked (a live run)."""
    runs_before, runs_after = runs_of(before), runs_of(after)
    ms = (status.get("markets") or {}).get(market, {})
    listed = {r["run_id"]: r["applied_seq"] for r in ms.get("runs", [])}
    counters = ms.get("counters", {})
    problems, waiting = [], []
    emitted = in_flight = late = 0
    forgotten = 0
    for run, seqs in runs_after.items():
        if sorted(seqs) != list(range(1, len(seqs) + 1)):
            problems.append(f"{market}: run {run} journaled seqs that are not 1..n once each: {sorted(seqs)[:20]}")
        last = max(seqs)
        journaled_before = max(runs_before.get(run, [0]))
        applied = listed.get(run)
        if applied is None:
            applied = history.get(market, run) if history else None
            forgotten += run not in listed and applied is not None
        if applied is None:
            applied = 0
        emitted += last
        if applied > last:
            problems.append(f"{market}: run {run} applied up to seq {applied}, but its journal ends at {last}")
        if applied < journaled_before:
            in_flight += journaled_before - applied
            waiting.append(f"{market} {run} applied {applied}/{journaled_before}" + ("" if run in listed else " (not listed)"))
        late += max(0, last - max(applied, journaled_before))
    # Every run the watchdog knows of, listed now or seen listed before: its counter must equal the sum.
    known = dict(history.runs(market)) if history else {}
    known.update(listed)
    applied_sum = sum(known.values())
    counted = counters.get("events", 0)
    figures = {"runs": len(runs_after), "events_emitted": emitted, "events_applied": counted, "in_flight": in_flight,
               "late": late, "runs_forgotten_by_watchdog": forgotten, "applied_seq_sum": applied_sum,
               "duplicates_received": counters.get("duplicates", 0), "gaps": counters.get("gaps", 0),
               "lost": in_flight + max(0, applied_sum - counted), "applied_twice": max(0, counted - applied_sum)}
    return figures, problems, waiting


def check_applied(market, figures, problems, violations):
    """The exactly-once verdict on `applied_figures`' answer for a settled stack."""
    violations.extend(problems)
    if figures["in_flight"]:
        violations.append(f"{market}: {figures['in_flight']} seq(s) journaled before the status was asked are not applied")
    if figures["events_applied"] > figures["applied_seq_sum"]:
        violations.append(f"{market}: the watchdog counted {figures['events_applied']} events applied, more than the "
                          f"{figures['applied_seq_sum']} its runs' applied seqs add up to: applied twice")
    elif figures["events_applied"] < figures["applied_seq_sum"]:
        violations.append(f"{market}: the watchdog counted {figures['events_applied']} events applied, fewer than the "
                          f"{figures['applied_seq_sum']} its runs' applied seqs add up to: skipped")
    if figures["gaps"]:
        violations.append(f"{market}: the watchdog counted {figures['gaps']} missing seqs (gaps)")


def settle(markets, journal_of, status, history, timeout, keep_up=None, period=0.1):
    """Polls until no market has anything IN FLIGHT: each round reads every journal (`journal_of(m)`
    gives `(events, undecodable lines)`), asks the
    watchdog's status, reads the journals again. Returns (status, before, after, None) once settled,
    or (status, before, after, what it saw) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = "no status yet"
    st = before = after = None
    while True:
        if keep_up:
            keep_up()
        before = {m: journal_of(m) for m in markets}
        st = status()
        after = {m: journal_of(m) for m in markets}
        if st:
            history.record(st)
            waiting = []
            for m in markets:
                waiting += applied_figures(m, before[m][0], after[m][0], st, history)[2]
            if not waiting:
                return st, before, after, None
            seen = f"{len(waiting)} run(s) behind: {waiting[:8]}"
        if time.monotonic() > deadline:
            return st or {"markets": {}}, before, after, seen
        time.sleep(period)


def check_journal_locks(market, events, violations, lock_faults=()):
    """Fences of ACQUIRED strictly increasing; a new ACQUIRED only after the previous holder's
    RELEASED or a STALE report of it by the newcomer, or after a lock-file fault (wall-clock times in
    `lock_faults`) while the previous holder held the lock: a fresh lock file has no record to report
    stale. The previous holder took the lock after it named its run (the run ID's time, to the second)
    and may journal its ACQUIRED much later (stopped in between), so the window opens at the run's
    name. Returns the fences in order."""
    fences, holder, holder_at, released = [], None, None, set()
    acquirers = {e.get("run_id") for e in events if e.get("type") == "CANONICAL_MARKET_LOCK_ACQUIRED"}
    stale_by = {}  # newcomer run -> stale run id (None: unknown holder)
    for e in events:
        t, run = e.get("type"), e.get("run_id")
        if t == "CANONICAL_MARKET_LOCK_RELEASED":
            released.add(run)
        elif t == "CANONICAL_MARKET_LOCK_STALE":
            stale_by[run] = e.get("data", {}).get("stale_run_id")
        elif t == "CANONICAL_MARKET_LOCK_ACQUIRED":
            fence = e.get("data", {}).get("fence", e.get("fence"))
            at = wall_seconds(e.get("ts"))
            named = run_started(run)
            if fences and fence <= fences[-1]:
                violations.append(f"{market}: fence {fence} of run {run} is not above the previous {fences[-1]}")
            fences.append(fence)
            if holder is not None and holder not in released:
                faulted = any((holder_at is None or f >= holder_at - 1) and (at is None or f <= at) for f in lock_faults)
                if run not in stale_by:
                    if not faulted:
                        violations.append(f"{market}: run {run} ACQUIRED while {holder} had neither RELEASED nor been reported STALE")
                elif stale_by[run] not in (None, holder) and stale_by[run] in acquirers and not faulted:
                    # A stale run that never journaled its ACQUIRED died between taking the lock (record
                    # and fence written) and its first journal line: it held the lock after `holder`.
                    violations.append(f"{market}: run {run} reported {stale_by[run]} stale, but the last holder was {holder}")
            holder, holder_at = run, (named if named is not None else at)
    return fences


def aggressive_windows(market, events, last_held_ns, violations):
    """[(start_ns, end_ns, run, pid, ended_by)] of every run's AGGRESSIVE windows, by start; see the
    module's docstring for where each end comes from."""
    per_run = {}
    for e in events:
        if e.get("type") != "SYSTEM_MODE_CHANGE":
            continue
        run, d = e.get("run_id"), e.get("data") or {}
        t = d.get("monotonic_ns")
        if not isinstance(t, int):
            violations.append(f"{market}: run {run}'s SYSTEM_MODE_CHANGE seq {e.get('seq')} has no monotonic_ns")
            continue
        r = per_run.setdefault(run, {"pid": e.get("pid"), "open": None, "windows": []})
        if d.get("to") == "AGGRESSIVE":
            if r["open"] is None:
                r["open"] = t
        elif r["open"] is not None:
            # Under a lease (docs/MULTIHOST.md), a change for a lost lease may name the deadline that
            # passed: the worker traded on nothing after it (checked before every order).
            deadline = d.get("lease_deadline_monotonic_ns")
            end = min(t, deadline) if isinstance(deadline, int) and deadline >= r["open"] else t
            r["windows"].append((r["open"], end, run, r["pid"], "mode change"))
            r["open"] = None
    windows = []
    for run, r in per_run.items():
        windows += r["windows"]
        if r["open"] is not None:
            held = last_held_ns.get((market, r["pid"]))
            if held is not None and held >= r["open"]:
                windows.append((r["open"], held, run, r["pid"], "last seen holding the lock"))
            else:
                windows.append((r["open"], r["open"], run, r["pid"], "never seen holding the lock after it"))
    return sorted(windows)


def check_windows(market, windows, violations):
    """No two runs' AGGRESSIVE windows overlap. Returns the shortest handover (ms from the end of one
    run's window to the start of the next run's), or None."""
    ends = {}  # run -> latest end so far
    shortest = None
    for start, end, run, pid, how in windows:
        others = [(e, r) for r, e in ends.items() if r != run]
        if others:
            latest, other = max(others)
            if start < latest:
                violations.append(
                    f"{market}: run {run} (pid {pid}) AGGRESSIVE at {start} ns while run {other} was AGGRESSIVE until at "
                    f"least {latest} ns ({(latest - start) / 1e6:.1f} ms of two executors)")
            else:
                gap = (start - latest) / 1e6
                shortest = gap if shortest is None else min(shortest, gap)
        ends[run] = max(ends.get(run, end), end)
    return shortest


ORDER_ID = re.compile(r"SIM-([A-Z0-9]+)-F(\d+)-(\d+)")


def check_orders(market, events, placed, violations):
    """`placed`: [(monotonic_ns, client_order_id)] of the orders the observer was told were placed, in
    order of placement. Returns figures."""
    journaled = {}
    last_fence = None
    for e in events:
        if e.get("type") != "ORDER_PLACED":
            continue
        cid, fence, run = (e.get("data") or {}).get("client_order_id"), e.get("fence"), e.get("run_id")
        if cid in journaled:
            violations.append(f"{market}: client order ID {cid} placed twice, by runs {journaled[cid]} and {run}")
        journaled[cid] = run
        m = ORDER_ID.fullmatch(cid or "")
        if not m or m.group(1) != market or int(m.group(2)) != fence:
            violations.append(f"{market}: client order ID {cid} of run {run} does not name market {market} and fence {fence}")
        if last_fence is not None and fence < last_fence:
            violations.append(f"{market}: order {cid} placed with fence {fence} after an order with fence {last_fence}")
        last_fence = fence
    previous, seen = None, set()
    for _, cid in placed:
        if cid in seen:
            violations.append(f"{market}: the worker answered client order ID {cid} twice")
        seen.add(cid)
        if cid not in journaled:
            violations.append(f"{market}: order {cid} was answered as placed but is not journaled")
        m = ORDER_ID.fullmatch(cid or "")
        fence = int(m.group(2)) if m else None
        if previous is not None and fence is not None and fence < previous:
            violations.append(f"{market}: order {cid} (fence {fence}) placed after one with fence {previous}")
        previous = fence if fence is not None else previous
    return {"orders_journaled": len(journaled), "orders_placed_seen": len(placed)}


def check_market(market, before, after, status, history, last_held_ns, violations, placed=(), lock_faults=()):
    """Every check of one market on a settled stack; returns its figures."""
    events, bad = after
    figures, problems, _ = applied_figures(market, before[0], events, status, history)
    check_applied(market, figures, problems, violations)
    fences = check_journal_locks(market, events, violations, lock_faults)
    windows = aggressive_windows(market, events, last_held_ns, violations)
    handover = check_windows(market, windows, violations)
    figures.update(check_orders(market, events, placed, violations))
    figures.update({
        "acquisitions": len(fences), "fence_first": fences[0] if fences else None, "fence_last": fences[-1] if fences else None,
        "fences_increasing": fences == sorted(set(fences)), "aggressive_windows": len(windows),
        "windows_ended_unseen": sum(1 for w in windows if w[4].startswith("never")),
        "shortest_handover_ms": None if handover is None else round(handover, 1), "undecodable_journal_lines": bad,
    })
    return figures


# --- Across hosts (docs/MULTIHOST.md): runs of one market on several hosts, one lease in a database.


def cut_frozen_windows(windows, events, frozen):
    """A process frozen by SIGSTOP cannot trade. `frozen`: pid -> [(stop_ns, cont_ns or None, cont_wall
    or None)], the observer's own record (cont None: killed while stopped). A window of such a pid that
    ran on past a freeze ends at the freeze's start when the run cannot have traded after waking: it
    was killed while frozen (its window's end is only the last moment its local lock was seen held),
    or it woke and its window ended by a lease change (LEASE_LOST or STANDBY: its deadline had passed,
    checked before every order) with no ORDER_PLACED journaled by the run between waking and that
    change. Returns the windows, cut, sorted."""
    by_run = {}
    for e in events:
        by_run.setdefault(e.get("run_id"), []).append(e)
    out = []
    for start, end, run, pid, how in windows:
        for stop_ns, cont_ns, cont_wall in sorted(frozen.get(pid, [])):
            if not (start < stop_ns < end):
                continue
            if cont_ns is None or cont_ns >= end:
                if how != "mode change":
                    end, how = stop_ns, "frozen until killed"
                    break
                continue
            change = next((e for e in by_run.get(run, []) if e.get("type") == "SYSTEM_MODE_CHANGE"
                           and (e.get("data") or {}).get("monotonic_ns") == end), None)
            reason = ((change or {}).get("data") or {}).get("reason") or ""
            if how == "mode change" and ("LEASE_LOST" in reason or "STANDBY" in reason):
                change_wall = wall_seconds(change.get("ts"))
                traded = any(e.get("type") == "ORDER_PLACED" and (wall_seconds(e.get("ts")) or 0) >= cont_wall - 0.001
                             and (change_wall is None or (wall_seconds(e.get("ts")) or 0) <= change_wall)
                             for e in by_run.get(run, []))
                if not traded:
                    end, how = stop_ns, "frozen, then lost the lease without an order"
                    break
        out.append((start, end, run, pid, how))
    return sorted(out)


def window_fences(events):
    """run -> the fence of its first SYSTEM_MODE_CHANGE to AGGRESSIVE."""
    fences = {}
    for e in events:
        if e.get("type") == "SYSTEM_MODE_CHANGE" and (e.get("data") or {}).get("to") == "AGGRESSIVE":
            fences.setdefault(e.get("run_id"), e.get("fence"))
    return fences


def check_window_fences(market, windows, fences, violations):
    """Across hosts, in the order the runs began trading, fences strictly increase: no two runs
    share a fence, and none trades on a fence below an earlier run's."""
    seen = []
    for start, _, run, _, _ in windows:
        fence = fences.get(run)
        if fence is None or any(r == run for r, _ in seen):
            continue
        if seen and fence <= seen[-1][1]:
            violations.append(f"{market}: run {run} began trading with fence {fence}, not above run {seen[-1][0]}'s {seen[-1][1]}")
        seen.append((run, fence))
    return [f for _, f in seen]


def held_at(windows, t):
    return any(start <= t <= end for start, end, _, _, _ in windows)


def check_recovery(market, windows, fault_ends, within_ns, violations):
    """After each fault that ended at `t` (monotonic ns, with no other fault until `t + within_ns`),
    some run trades the market again by `t + within_ns` and still does then. Returns the longest
    time (s) from a fault's end to the market being held."""
    longest = 0.0
    for t in fault_ends:
        if held_at(windows, t + within_ns):
            first = t if held_at(windows, t) else min((s for s, _, _, _, _ in windows if s >= t), default=t)
            longest = max(longest, (first - t) / 1e9)
        else:
            violations.append(f"{market}: not traded by any host {within_ns / 1e9:g} s after a fault ended at {t} ns")
    return longest
