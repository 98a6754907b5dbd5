#!/usr/bin/env python3
"""Chaos test of the whole stack (issue 9): kill any process at any moment, then prove that no event
was lost, none applied twice, no two executors ever ran one market and every fence went up.

    scenarios/chaos/chaos.py --duration 60 --seed 42 [--bin .build/debug] [--markets 4] [--keep]

It starts a watchdog and a supervisor (which starts one worker per market) in a fresh folder under
/tmp with short heartbeat and invariant intervals, then for --duration seconds picks a random process
of the stack (the watchdog, the supervisor or a worker) at random intervals and sends it SIGKILL, or
SIGSTOP followed later by SIGCONT. It restarts what the supervisor does not restart itself: the
watchdog, the supervisor, and markets left BLOCKED, FATAL or STOPPED. A sampler thread reads
/proc/locks every 10 ms and records, per market, every pid holding the flock on the market's lock
inode. At the end it lets the stack settle and checks the journals against `watchdog status --json`.

Written in Python on purpose: the oracle shares no code with what it checks (its own journal and
/proc/locks readers, not IPC's), and it stays out of the package's build. Only the standard library.

Every process it starts, and every worker its supervisors started, is ended by pid (never by name).
Exit status: 0 all checks held; 1 a violation (the seed to reproduce is printed); 2 the stack could not
be brought up or settled (also with the seed).
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

MARKETS = [("ES", "MES"), ("NQ", "MNQ"), ("CL", "MCL"), ("YM", "MYM"), ("RTY", "M2K"), ("GC", "MGC")]


def log(msg):
    print(f"chaos: {time.strftime('%H:%M:%S')} {msg}", flush=True)


class Stack:
    def __init__(self, args, home):
        self.args = args
        self.home = home
        self.bin = os.path.abspath(args.bin)
        self.config = os.path.join(home, "robot.json")
        self.markets = [m for m, _ in MARKETS[: args.markets]]
        self.watchdog = None
        self.supervisor = None
        self.started = []  # every Popen this program started
        self.write_config()

    def write_config(self):
        markets = {m: {"execution": e, "streams": {f"{m}1": {"instrument": m}}} for m, e in MARKETS[: self.args.markets]}
        config = {
            "instrument_map": {e: m for m, e in MARKETS},
            "markets": markets,
            "timings": {"heartbeat_interval_seconds": 0.1, "invariants_interval_seconds": 0.05,
                        "heartbeat_late_intervals": 2, "heartbeat_lost_seconds": 1.0},
            "watchdog": {"hello_timeout_seconds": 2, "snapshot_interval_seconds": 0.05},
            "worker": {"reconnect_max_seconds": 0.2},
            "supervisor": {"watchdog_seconds": 1, "watchdog_kill_grace_seconds": 0.3, "start_timeout_seconds": 5,
                           "stop_timeout_seconds": 1, "min_uptime_seconds": 0.3, "backoff_initial_seconds": 0.05,
                           "backoff_max_seconds": 0.5, "backoff_multiplier": 2, "max_restarts": 10000,
                           "restart_window_seconds": 60},
        }
        with open(self.config, "w") as f:
            json.dump(config, f, indent=1)

    def cli(self, program, args, timeout=20):
        try:
            r = subprocess.run([os.path.join(self.bin, program)] + args + ["--config", self.config, "--home", self.home],
                               capture_output=True, text=True, timeout=timeout, env=self.env())
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired:
            return -1, "", "timeout"

    def env(self):
        env = dict(os.environ)
        for k in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "ROBOT_CONFIG",
                  "ROBOT_HOME", "JOURNAL_STREAM", "ROBOT_JOURNAL_SOCKET", "ROBOT_SUPERVISOR_PID"]:
            env.pop(k, None)
        return env

    def spawn(self, program):
        out = open(os.path.join(self.home, f"{program}.log"), "a")
        p = subprocess.Popen([os.path.join(self.bin, program), "run", "--config", self.config, "--home", self.home],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env(), start_new_session=True)
        out.close()
        self.started.append(p)
        return p

    def start_watchdog(self):
        self.watchdog = self.spawn("watchdog")

    def start_supervisor(self):
        self.supervisor = self.spawn("supervisor")

    def json_status(self, program):
        """`PROGRAM status --json`, parsed; None when it does not answer (exit 0 and 1 both answer)."""
        rc, out, _ = self.cli(program, ["status", "--json"], timeout=10)
        if rc not in (0, 1):
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def status(self):
        return self.json_status("watchdog")

    def supervisor_status(self):
        return self.json_status("supervisor")

    def workers(self):
        """Pids of live processes whose parent is the current supervisor."""
        sup = self.supervisor.pid if self.supervisor and self.supervisor.poll() is None else None
        return [pid for pid, ppid in processes_with_parent() if ppid == sup] if sup else []

    def lock_inodes(self):
        out = {}
        for m in self.markets:
            try:
                st = os.stat(os.path.join(self.home, "runtime_locks", f"canonical_{m}.lock"))
                out[m] = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
            except OSError:
                pass
        return out

    def own_pids(self):
        """Every live process running one of our binaries on this home (ours, the supervisors' workers, orphans)."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if self.config.encode() in argv and argv[0].startswith(self.bin.encode()):
                pids.append(int(name))
        return pids


def processes_with_parent():
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        if rest[0] in ("Z", "X"):
            continue
        out.append((int(name), int(rest[1])))
    return out


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2]
    except (OSError, ValueError):
        return None


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


class Sampler(threading.Thread):
    """Every 10 ms: the holders of each market's lock inode. Two holders at once is a double executor;
    no running (not stopped) holder is a gap in service."""

    def __init__(self, stack):
        super().__init__(daemon=True)
        self.stack = stack
        self.stop_flag = threading.Event()
        self.samples = 0
        self.double = []  # (time, market, pids)
        self.longest_gap = {m: 0.0 for m in stack.markets}
        self.down_since = {}
        self.measuring = False

    def run(self):
        inodes = {}
        while not self.stop_flag.is_set():
            if len(inodes) < len(self.stack.markets):
                inodes = self.stack.lock_inodes()
            table = flock_holders()
            now = time.monotonic()
            self.samples += 1
            for m, key in inodes.items():
                pids = table.get(key, [])
                if len(set(pids)) > 1:
                    self.double.append((time.time(), m, sorted(set(pids))))
                running = any(proc_state(p) not in (None, "T", "t", "Z", "X") for p in pids)
                if not self.measuring:
                    continue
                if running:
                    since = self.down_since.pop(m, None)
                    if since is not None:
                        self.longest_gap[m] = max(self.longest_gap[m], now - since)
                else:
                    self.down_since.setdefault(m, now)
            time.sleep(0.01)

    def finish(self):
        self.stop_flag.set()
        self.join()
        now = time.monotonic()
        for m, since in self.down_since.items():
            self.longest_gap[m] = max(self.longest_gap[m], now - since)


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


def journal_events(home, market):
    events, bad = [], 0
    for name in ("events.1.ndjson", "events.ndjson"):
        e, b = read_journal(os.path.join(home, "state", market, name))
        events += e
        bad += b
    return events, bad


def runs_of(events):
    """run_id -> sorted list of seqs (heartbeats have none)."""
    runs = {}
    for e in events:
        if e.get("seq") is not None:
            runs.setdefault(e["run_id"], []).append(e["seq"])
    return runs


def check_journal_locks(market, events, violations):
    """Fences of ACQUIRED strictly increasing; a new ACQUIRED only after the previous holder's
    RELEASED or a STALE report of it by the newcomer. Returns the fences in order."""
    fences, holder, released = [], None, set()
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
            if fences and fence <= fences[-1]:
                violations.append(f"{market}: fence {fence} of run {run} is not above the previous {fences[-1]}")
            fences.append(fence)
            if holder is not None and holder not in released:
                if run not in stale_by:
                    violations.append(f"{market}: run {run} ACQUIRED while {holder} had neither RELEASED nor been reported STALE")
                elif stale_by[run] not in (None, holder) and stale_by[run] in acquirers:
                    # A stale run that never journaled its ACQUIRED died between taking the lock (record
                    # and fence written) and its first journal line: it held the lock after `holder`.
                    violations.append(f"{market}: run {run} reported {stale_by[run]} stale, but the last holder was {holder}")
            holder = run
    return fences


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/debug"))
    parser.add_argument("--markets", type=int, default=4, choices=range(1, len(MARKETS) + 1))
    parser.add_argument("--settle", type=float, default=60, help="the most seconds to wait for the stack to catch up")
    parser.add_argument("--keep", action="store_true", help="keep the folder (always kept on failure)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    home = tempfile.mkdtemp(prefix="ch.", dir="/tmp")
    repro = f"scenarios/chaos/chaos.py --seed {seed} --duration {args.duration:g} --markets {args.markets}"
    log(f"seed {seed}, duration {args.duration:g} s, {args.markets} markets, folder {home}")
    stack = Stack(args, home)
    sampler = Sampler(stack)
    stopped = {}  # pid -> when to SIGCONT
    kills = {k: 0 for k in ("worker_kill", "worker_stop", "watchdog_kill", "watchdog_stop", "supervisor_kill", "supervisor_stop")}
    restarts = {"watchdog": 0, "supervisor": 0, "market_start": 0}
    starter = {"thread": None}
    figures, violations, status = {}, [], 0

    def restart_markets():
        """`supervisor start M` for every market the supervisor will not restart. In a thread: the
        supervisor may be stopped, and `start` waits for RUNNING."""
        if starter["thread"] and starter["thread"].is_alive():
            return

        def go():
            sup = stack.supervisor_status()
            for m, row in ((sup or {}).get("markets") or {}).items():
                if row.get("state") in ("BLOCKED", "FATAL", "STOPPED"):
                    stack.cli("supervisor", ["start", m], timeout=15)
                    restarts["market_start"] += 1
        starter["thread"] = threading.Thread(target=go, daemon=True)
        starter["thread"].start()

    def ensure_up():
        if stack.watchdog.poll() is not None:
            stack.start_watchdog()
            restarts["watchdog"] += 1
        if stack.supervisor.poll() is not None:
            stack.start_supervisor()
            restarts["supervisor"] += 1

    def wake(now, everything=False):
        for pid, at in list(stopped.items()):
            if everything or at <= now:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
                del stopped[pid]

    try:
        stack.start_watchdog()
        stack.start_supervisor()
        sampler.start()
        deadline = time.monotonic() + 30
        while True:
            sup = stack.supervisor_status()
            if sup and all((sup.get("markets") or {}).get(m, {}).get("state") == "RUNNING" for m in stack.markets):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the stack did not come up: {sup}")
            time.sleep(0.1)
        log("every market RUNNING; chaos starts")
        sampler.measuring = True

        end = time.monotonic() + args.duration
        next_kill = time.monotonic() + rng.uniform(0.2, 1.0)
        next_check = 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            wake(now)
            ensure_up()
            if now >= next_check:
                restart_markets()
                next_check = now + 1.0
            if now >= next_kill:
                roll = rng.random()
                if roll < 0.55:
                    target = "worker"
                elif roll < 0.8:
                    target = "watchdog"
                else:
                    target = "supervisor"
                how = "kill" if rng.random() < 0.7 else "stop"
                if target == "worker":
                    pids = sorted(stack.workers())
                    pid = rng.choice(pids) if pids else None
                else:
                    p = getattr(stack, target)
                    pid = p.pid if p.poll() is None else None
                if pid and pid not in stopped:
                    try:
                        if how == "kill":
                            os.kill(pid, signal.SIGKILL)
                            stopped.pop(pid, None)
                        else:
                            os.kill(pid, signal.SIGSTOP)
                            stopped[pid] = now + rng.uniform(0.05, 2.0)
                        kills[f"{target}_{how}"] += 1
                    except ProcessLookupError:
                        pass
                next_kill = now + rng.uniform(0.05, 1.0)
            time.sleep(0.02)

        log(f"chaos over: {sum(kills.values())} faults {kills}; settling")
        wake(0, everything=True)
        # Settle: everything up, every market RUNNING, the watchdog caught up with every journal.
        deadline = time.monotonic() + args.settle
        result, behind = None, ["no status yet"]
        while time.monotonic() < deadline:
            ensure_up()
            restart_markets()
            sup = stack.supervisor_status()
            if not sup or not all((sup.get("markets") or {}).get(m, {}).get("state") == "RUNNING" for m in stack.markets):
                time.sleep(0.2)
                continue
            before = {m: journal_events(home, m) for m in stack.markets}
            time.sleep(0.3)
            st = stack.status()
            if not st:
                continue
            behind = []
            for m in stack.markets:
                applied = {r["run_id"]: r["applied_seq"] for r in st["markets"].get(m, {}).get("runs", [])}
                for run, seqs in runs_of(before[m][0]).items():
                    if run in applied and applied[run] < max(seqs):
                        behind.append(f"{m} {run} {applied[run]}/{max(seqs)}")
                    elif run not in applied and len(runs_of(before[m][0])) <= 64:
                        behind.append(f"{m} {run} not seen")
            if not behind:
                result = (st, before, {m: journal_events(home, m) for m in stack.markets})
                break
            time.sleep(0.2)
        if result is None:
            violations.append(f"the watchdog did not catch up within {args.settle:g} s: {behind[:8]}")
            before = {m: journal_events(home, m) for m in stack.markets}
            st = stack.status() or {"markets": {}}
            result = (st, before, {m: journal_events(home, m) for m in stack.markets})
        st, journals_before, journals = result
        sampler.finish()

        # Checks.
        per_market = {}
        total_emitted = total_applied = total_in_flight = lost = dup_applied = 0
        for m in stack.markets:
            events, bad = journals[m]
            runs = runs_of(events)
            # Read before the status: everything in it must be applied (a live run journals on after it).
            runs_before = runs_of(journals_before[m][0])
            wm = st["markets"].get(m, {})
            applied = {r["run_id"]: r["applied_seq"] for r in wm.get("runs", [])}
            counters = wm.get("counters", {})
            emitted = in_flight = 0
            for run, seqs in runs.items():
                if sorted(seqs) != list(range(1, len(seqs) + 1)):
                    violations.append(f"{m}: run {run} journaled seqs that are not 1..n once each: {sorted(seqs)[:20]}")
                last = max(seqs)
                emitted += last
                if run in applied and applied[run] < last and max(runs_before.get(run, [0])) <= applied[run]:
                    in_flight += last - applied[run]  # journaled by a live run after the status was taken
                if run in applied:
                    settled = max(runs_before.get(run, [0]))
                    if applied[run] < settled:
                        lost += settled - applied[run]
                    elif applied[run] > last:
                        dup_applied += applied[run] - last
                elif len(runs) <= 64:
                    lost += last  # a run the watchdog never heard of
            # Runs the watchdog no longer lists (it keeps 64 per market) are covered by the counter.
            evicted = sum(max(s) for r, s in runs.items() if r not in applied) if len(runs) > 64 else 0
            # Applied seqs of the watchdog's current runs are a lower bound of what the live runs journaled
            # since the settle: count the live runs by what the watchdog applied.
            expected = evicted + sum(min(applied[r], max(s)) for r, s in runs.items() if r in applied)
            counted = counters.get("events", 0)
            if counted > expected:
                dup_applied += counted - expected
            elif counted < expected:
                lost += expected - counted
            if counters.get("gaps", 0):
                violations.append(f"{m}: the watchdog counted {counters['gaps']} missing seqs (gaps)")
            if emitted != counted + in_flight:
                violations.append(f"{m}: {emitted} seqs journaled, but {counted} applied and {in_flight} in flight")
            fences = check_journal_locks(m, events, violations)
            total_emitted += emitted
            total_applied += counted
            total_in_flight += in_flight
            per_market[m] = {"runs": len(runs), "events_emitted": emitted, "events_applied": counted, "in_flight": in_flight,
                             "duplicates_received": counters.get("duplicates", 0), "gaps": counters.get("gaps", 0),
                             "acquisitions": len(fences), "fence_first": fences[0] if fences else None,
                             "fence_last": fences[-1] if fences else None, "fences_increasing": fences == sorted(set(fences)),
                             "undecodable_journal_lines": bad,
                             "longest_without_worker_s": round(sampler.longest_gap[m], 3)}
        if lost:
            violations.append(f"{lost} event(s) journaled but never applied")
        if dup_applied:
            violations.append(f"{dup_applied} event(s) applied more than once")
        if sampler.double:
            violations.append(f"{len(sampler.double)} sample(s) with two flock holders of one market: {sampler.double[:5]}")
        figures = {
            "seed": seed, "duration_s": args.duration, "markets": len(stack.markets), "faults": kills,
            "faults_total": sum(kills.values()), "restarts_by_chaos": restarts,
            "lock_samples": sampler.samples, "double_executor_moments": len(sampler.double),
            "events_emitted": total_emitted, "events_applied": total_applied, "in_flight": total_in_flight, "lost": lost, "applied_twice": dup_applied,
            "longest_without_worker_s": round(max(sampler.longest_gap.values()), 3), "per_market": per_market,
            "violations": violations,
        }
    except SystemExit as e:
        status = 2
        violations.append(str(e))
        figures = {"seed": seed, "violations": violations}
    finally:
        sampler.stop_flag.set()
        wake(0, everything=True)
        # End everything by pid: the supervisor first (it stops its workers), then the watchdog, then stragglers.
        for p in (stack.supervisor, stack.watchdog):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in stack.started:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for pid in stack.own_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    print("\n=== chaos figures ===")
    if "per_market" in figures:
        print(f"seed {seed}, {figures['duration_s']:g} s, {figures['markets']} markets, lock samples {figures['lock_samples']}")
        print(f"faults injected: {figures['faults_total']} {figures['faults']}")
        print(f"restarts by chaos: {figures['restarts_by_chaos']}")
        print("EMITTED: seqs journaled (read after the watchdog's status); APPLIED: the watchdog's counters.events;")
        print("IN FLIGHT: journaled by a live run after the status was taken; EMITTED = APPLIED + IN FLIGHT when nothing is lost or doubled")
        print(f"{'MARKET':6} {'RUNS':>5} {'EMITTED':>8} {'APPLIED':>8} {'IN FLIGHT':>9} {'DUP RECV':>8} {'FENCES':>12} {'NO WORKER':>9}")
        for m, f in figures["per_market"].items():
            print(f"{m:6} {f['runs']:>5} {f['events_emitted']:>8} {f['events_applied']:>8} {f['in_flight']:>9} {f['duplicates_received']:>8} "
                  f"{str(f['fence_first']) + '..' + str(f['fence_last']):>12} {f['longest_without_worker_s']:>8}s")
        print(f"lost {figures['lost']}, applied twice {figures['applied_twice']}, "
              f"double-executor moments {figures['double_executor_moments']}, "
              f"longest without a running worker {figures['longest_without_worker_s']} s")
    print("CHAOS_RESULT " + json.dumps(figures, sort_keys=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    if violations:
        status = status or 1
        for v in violations:
            print(f"VIOLATION: {v}")
        print(f"FAILED: reproduce with {repro} (folder kept: {home})")
    else:
        print("PASSED")
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
