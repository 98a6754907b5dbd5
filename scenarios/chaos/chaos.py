#!/usr/bin/env python3
"""Chaos test of the whole stack (issues 9 and 22): kill any process at any moment, delete or replace
lock files, place orders all along, then prove that no event was lost or applied twice, no two
executors ever traded one market at the same time, no client order ID repeated and no fence went back.

    scenarios/chaos/chaos.py --duration 60 --seed 42 [--bin .build/debug] [--markets 4] [--keep]

It starts a watchdog and a supervisor (which starts one worker per market) in a fresh folder under
/tmp with short heartbeat and invariant intervals, then for --duration seconds picks a random process
of the stack (the watchdog, the supervisor or a worker) at random intervals and sends it SIGKILL, or
SIGSTOP followed later by SIGCONT, or deletes or replaces a market's lock file, or starts a second
`robot-worker` for a running market by hand (half the time just after deleting or replacing its lock
file), which must be refused, and is ended after a while if it was not. It restarts what the
supervisor does not restart itself: the watchdog, the supervisor, and markets left BLOCKED, FATAL or
STOPPED. Meanwhile a thread places SIM orders (`robot-worker order`) round the markets, a sampler reads
/proc/locks every 10 ms (every pid holding any inode a market's lock file has had, and when), and a
poller records every run the watchdog's status lists. At the end every market must be RUNNING again,
and the stack must settle: polled until nothing journaled before a status is unapplied in it (IN
FLIGHT zero), within --settle seconds, or the run fails with what it saw. Then the oracle
(scenarios/chaos/oracle.py, shared with bench/harness.py) checks every run of every market against
its journal: exactly once, AGGRESSIVE windows that never overlap, fences, orders.

Every process it starts, and every worker its supervisors started, is ended by pid (never by name).
Exit status: 0 all checks held; 1 a violation (the seed to reproduce is printed); 2 the stack could not
be brought up (also with the seed).
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402  (next to this file)

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

    def spawn(self, program, args=("run",)):
        out = open(os.path.join(self.home, f"{program}.log"), "a")
        p = subprocess.Popen([os.path.join(self.bin, program)] + list(args) + ["--config", self.config, "--home", self.home],
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

    def lock_path(self, market):
        return os.path.join(self.home, "runtime_locks", f"canonical_{market}.lock")

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


class Orders(threading.Thread):
    """Places a market buy of 1 on one market after another (`robot-worker order`) until stopped, and
    keeps, per market, the client order IDs the workers answered `placed`, in order of placement."""

    ID = re.compile(r"\b(SIM-[A-Z0-9]+-F\d+-\d+) placed")

    def __init__(self, stack, rng, period):
        super().__init__(daemon=True)
        self.stack, self.rng, self.period = stack, rng, period
        self.stop_flag = threading.Event()
        self.placed = {m: [] for m in stack.markets}
        self.outcomes = {}

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            m = self.stack.markets[i % len(self.stack.markets)]
            i += 1
            rc, out, err = self.stack.cli("robot-worker", ["order", "--market", m, "--side", "buy", "--qty", "1"], timeout=5)
            found = self.ID.search(out)
            kind = "placed" if rc == 0 and found else {1: "refused", 3: "no worker", -1: "timeout"}.get(rc, f"exit {rc}")
            self.outcomes[kind] = self.outcomes.get(kind, 0) + 1
            if kind == "placed":
                self.placed[m].append((time.monotonic_ns(), found.group(1)))
            self.stop_flag.wait(self.rng.uniform(0, 2 * self.period))

    def finish(self):
        self.stop_flag.set()
        self.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/debug"))
    parser.add_argument("--markets", type=int, default=4, choices=range(1, len(MARKETS) + 1))
    parser.add_argument("--settle", type=float, default=60, help="the most seconds to wait for the stack to recover and catch up")
    parser.add_argument("--order-every", type=float, default=0.2, help="mean seconds between two orders (all markets)")
    parser.add_argument("--second-executor-share", type=float, default=0.05,
                        help="the share of faults that start a second worker by hand (the rest: kills, stops, lock files)")
    parser.add_argument("--keep", action="store_true", help="keep the folder (always kept on failure)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    home = tempfile.mkdtemp(prefix="ch.", dir="/tmp")
    # The stack's own host-wide guard folder (docs/RELIABILITY.md, section 6), never the host's.
    os.environ["ROBOT_GUARD_DIR"] = os.path.join(home, "host-guard")
    repro = (f"scenarios/chaos/chaos.py --seed {seed} --duration {args.duration:g} --markets {args.markets} "
             f"--second-executor-share {args.second_executor_share:g}")
    log(f"seed {seed}, duration {args.duration:g} s, {args.markets} markets, folder {home}")
    stack = Stack(args, home)
    watch = oracle.LockWatch(stack.lock_path, stack.markets)
    history = oracle.AppliedHistory()
    journals = oracle.JournalCache()
    poller = oracle.StatusPoller(stack.status, history)
    orders = Orders(stack, random.Random(seed + 1), args.order_every)
    stopped = {}  # pid -> when to SIGCONT
    kills = {k: 0 for k in ("worker_kill", "worker_stop", "watchdog_kill", "watchdog_stop", "supervisor_kill", "supervisor_stop",
                            "lock_delete", "lock_replace", "second_executor")}
    strays = []  # [Popen, when to SIGTERM it]: workers started by hand, outside the supervisor
    lock_faults = {m: [] for m in stack.markets}  # wall-clock times
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

    def all_running():
        sup = stack.supervisor_status()
        return sup and all((sup.get("markets") or {}).get(m, {}).get("state") == "RUNNING" for m in stack.markets)

    def lock_fault(how, m=None):
        """Deletes a market's lock file, or replaces it by a copy of itself (a new inode, same bytes),
        as an operator's `rm` or `cp` over it would."""
        m = m or rng.choice(stack.markets)
        path = stack.lock_path(m)
        try:
            if how == "delete":
                os.unlink(path)
            else:
                with open(path, "rb") as f:
                    data = f.read()
                with open(path + ".chaos", "wb") as f:
                    f.write(data)
                os.rename(path + ".chaos", path)
        except OSError:
            return False
        lock_faults[m].append(time.time())
        return True

    def second_executor():
        """An operator's mistake: `robot-worker --market M` started by hand while M runs, half the
        time just after its lock file was deleted or replaced. It must be refused (exit 100) unless
        the market had no live holder; either way it is ended (SIGTERM) after a while."""
        m = rng.choice(stack.markets)
        if rng.random() < 0.5:
            how = rng.choice(["delete", "replace"])
            if lock_fault(how, m):
                kills[f"lock_{how}"] += 1
        strays.append([stack.spawn("robot-worker", ["--market", m]), time.monotonic() + rng.uniform(0.3, 1.5)])

    def end_strays(now, everything=False):
        for s in strays:
            p, at = s
            if p.poll() is None and at is not None and (everything or at <= now):
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGTERM)
                s[1] = None

    try:
        stack.start_watchdog()
        stack.start_supervisor()
        watch.start()
        deadline = time.monotonic() + 30
        while not all_running():
            if time.monotonic() > deadline:
                raise SystemExit(f"the stack did not come up: {stack.supervisor_status()}")
            time.sleep(0.1)
        log("every market RUNNING; chaos starts")
        watch.measuring = True
        poller.start()
        orders.start()

        end = time.monotonic() + args.duration
        next_kill = time.monotonic() + rng.uniform(0.2, 1.0)
        next_check = 0.0
        while time.monotonic() < end:
            now = time.monotonic()
            wake(now)
            end_strays(now)
            ensure_up()
            if now >= next_check:
                restart_markets()
                next_check = now + 1.0
            if now >= next_kill:
                roll = rng.random()
                if roll < 0.5:
                    target = "worker"
                elif roll < 0.72:
                    target = "watchdog"
                elif roll < 0.9:
                    target = "supervisor"
                elif roll < 1 - args.second_executor_share:
                    target = "lock"
                else:
                    target = "second_executor"
                how = "kill" if rng.random() < 0.7 else "stop"
                if target == "second_executor":
                    second_executor()
                    kills["second_executor"] += 1
                    pid = None
                elif target == "lock":
                    how = "delete" if how == "kill" else "replace"
                    if lock_fault(how):
                        kills[f"lock_{how}"] += 1
                    pid = None
                elif target == "worker":
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
        orders.finish()
        wake(0, everything=True)
        end_strays(0, everything=True)
        for p, _ in strays:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # Recover: everything up and every market RUNNING again, within --settle seconds.
        deadline = time.monotonic() + args.settle
        while not all_running():
            if time.monotonic() > deadline:
                violations.append(f"the stack did not recover within {args.settle:g} s: {stack.supervisor_status()}")
                break
            ensure_up()
            restart_markets()
            time.sleep(0.2)
        # Settle: polled until the watchdog has applied everything journaled before each status.
        st, before, after, behind = oracle.settle(
            stack.markets, lambda m: oracle.journal_events(home, m, journals), stack.status, history,
            max(5.0, deadline - time.monotonic()), keep_up=ensure_up)
        if behind:
            violations.append(f"the watchdog did not catch up within {args.settle:g} s (IN FLIGHT never zero): {behind}")
        poller.finish()
        watch.finish()

        per_market = {}
        for m in stack.markets:
            f = oracle.check_market(m, before[m], after[m], st, history, watch.last_held_ns, violations,
                                    placed=orders.placed[m], lock_faults=lock_faults[m])
            f["longest_without_worker_s"] = round(watch.longest_gap[m], 3)
            f["lock_faults"] = len(lock_faults[m])
            per_market[m] = f
        totals = {k: sum(f[k] for f in per_market.values())
                  for k in ("events_emitted", "events_applied", "in_flight", "late", "runs", "runs_forgotten_by_watchdog",
                            "aggressive_windows", "orders_journaled", "orders_placed_seen", "lost", "applied_twice")}
        handovers = [f["shortest_handover_ms"] for f in per_market.values() if f["shortest_handover_ms"] is not None]
        if watch.double:
            violations.append(f"{len(watch.double)} sample(s) with two flock holders of one inode: {watch.double[:5]}")
        figures = {
            "seed": seed, "duration_s": args.duration, "markets": len(stack.markets), "faults": kills,
            "faults_total": sum(kills.values()), "restarts_by_chaos": restarts, "order_outcomes": orders.outcomes,
            "second_executors": {"refused": sum(1 for p, _ in strays if p.returncode == 100),
                                 "ran_while_the_market_had_no_holder": sum(1 for p, _ in strays if p.returncode != 100)},
            "lock_samples": watch.samples, "double_executor_moments": len(watch.double), "statuses_polled": history.statuses,
            "runs_checked": totals["runs"], "runs_forgotten_by_watchdog": totals["runs_forgotten_by_watchdog"],
            "events_emitted": totals["events_emitted"], "events_applied": totals["events_applied"],
            "in_flight": totals["in_flight"], "late": totals["late"],
            "lost": totals["lost"], "applied_twice": totals["applied_twice"],
            "aggressive_windows": totals["aggressive_windows"],
            "overlapping_aggressive_windows": sum(1 for v in violations if "of two executors" in v),
            "shortest_handover_ms": min(handovers) if handovers else None,
            "orders_journaled": totals["orders_journaled"], "orders_placed": totals["orders_placed_seen"],
            "longest_without_worker_s": round(max(watch.longest_gap.values()), 3), "per_market": per_market,
            "violations": violations,
        }
    except SystemExit as e:
        status = 2
        violations.append(str(e))
        figures = {"seed": seed, "violations": violations}
    finally:
        watch.stop_flag.set()
        poller.stop_flag.set()
        orders.stop_flag.set()
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
        print(f"seed {seed}, {figures['duration_s']:g} s, {figures['markets']} markets, lock samples {figures['lock_samples']}, "
              f"watchdog statuses polled {figures['statuses_polled']}")
        print(f"faults injected: {figures['faults_total']} {figures['faults']}")
        print(f"restarts by chaos: {figures['restarts_by_chaos']}; orders: {figures['order_outcomes']}; "
              f"second executors started by hand: {figures['second_executors']}")
        print("EMITTED: seqs journaled; APPLIED: the watchdog's counters.events; IN FLIGHT: journaled before the settled status")
        print("was asked and not applied in it (0 when settled); LATE: journaled by a live run after it was asked.")
        print("EMITTED = APPLIED + IN FLIGHT + LATE when nothing is lost or doubled. WINDOWS: AGGRESSIVE windows (none overlap);")
        print("HANDOVER: shortest time from one run's window to the next run's; ORDERS: journaled ORDER_PLACED.")
        print(f"{'MARKET':6} {'RUNS':>5} {'EMITTED':>8} {'APPLIED':>8} {'IN FLIGHT':>9} {'LATE':>5} {'DUP RECV':>8} {'FENCES':>10} "
              f"{'WINDOWS':>7} {'HANDOVER':>9} {'ORDERS':>6} {'LOCK FAULTS':>11} {'NO WORKER':>9}")
        for m, f in figures["per_market"].items():
            handover = "-" if f["shortest_handover_ms"] is None else f"{f['shortest_handover_ms']:g}ms"
            print(f"{m:6} {f['runs']:>5} {f['events_emitted']:>8} {f['events_applied']:>8} {f['in_flight']:>9} {f['late']:>5} "
                  f"{f['duplicates_received']:>8} {str(f['fence_first']) + '..' + str(f['fence_last']):>10} {f['aggressive_windows']:>7} "
                  f"{handover:>9} {f['orders_journaled']:>6} {f['lock_faults']:>11} {f['longest_without_worker_s']:>8}s")
        print(f"runs checked against their journals {figures['runs_checked']} (forgotten by the watchdog's status "
              f"{figures['runs_forgotten_by_watchdog']}); lost {figures['lost']}, applied twice {figures['applied_twice']}, "
              f"overlapping AGGRESSIVE windows {figures['overlapping_aggressive_windows']}, "
              f"double flock holders {figures['double_executor_moments']}, "
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
