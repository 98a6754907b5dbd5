#!/usr/bin/env python3
"""Chaos across hosts (issue 15, docs/MULTIHOST.md): three "hosts" on this machine share one account
and one PostgreSQL lease database, each through a partition proxy of its own; random faults hit
them, and the oracle proves that no two hosts ever traded one market at the same time, that fences
strictly increased across hosts, and that every market was traded again soon after each fault.

    scenarios/chaos/multihost.py --duration 60 --seed 42 [--bin .build/debug] [--hosts 3] [--markets 3]
                                 [--lease 1.5] [--keep] [--json FILE]

It starts a throwaway PostgreSQL cluster (scenarios/multihost/pg_cluster.py), a TcpProxy per host
(tcp_proxy.py) and per host a watchdog and a supervisor (which runs one worker per market). Then,
for --duration seconds, one fault after another, each followed by a quiet spell of the lease + 1 s
(+ a little) in which the market must be traded again:

- worker_kill: SIGKILL a worker (half the time the holder of a market); its supervisor restarts it.
- worker_stop: SIGSTOP a worker (half the time a holder) for 0.2 to 2 leases, then SIGCONT.
- supervisor_kill: SIGKILL a host's supervisor (its workers go on); restarted at once.
- partition_stall / partition_close: the host's proxy stalls (forwards nothing, closes nothing) or
  closes every connection and refuses new ones, for 0.5 to 2.5 leases, then forwards again.
- host_kill: SIGKILL every process of a host (a power cut), restarted after 0.5 to 2 leases.

Meanwhile a thread places SIM orders on every host in turn (a standby refuses them), and one
LockWatch per host samples its lock files. The oracle (oracle.py) then checks, per market, over the
journals of every host: AGGRESSIVE windows (on the shared CLOCK_MONOTONIC: `monotonic_ns` of each
SYSTEM_MODE_CHANGE; a lease deadline a LEASE_LOST change names ends a window; a frozen holder that
could not have traded is cut at its freeze) never overlap; the fences of successive runs strictly
increase; client order IDs are unique across hosts; and after each fault the market is traded by
some host within the lease + 1 s, and still is then.

Every process is ended by pid. Exit status: 0 every check held; 1 a violation (the seed to
reproduce is printed); 2 the rig could not be brought up.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "multihost"))
import oracle  # noqa: E402
import hosts as hostlib  # noqa: E402
import pg_cluster  # noqa: E402
import tcp_proxy  # noqa: E402

FAULTS = ["worker_kill", "worker_stop", "supervisor_kill", "partition_stall", "partition_close", "host_kill"]
WEIGHTS = [3, 2, 1, 2, 2, 1]


def log(msg):
    print(f"multihost-chaos: {time.strftime('%H:%M:%S')} {msg}", flush=True)


class Orders(threading.Thread):
    """`robot-worker order` on every host and market in turn; keeps what each answered `placed`."""

    ID = re.compile(r"\b(SIM-[A-Z0-9]+-F\d+-\d+) placed")

    def __init__(self, hosts, markets, rng, period):
        super().__init__(daemon=True)
        self.hosts, self.markets, self.rng, self.period = hosts, markets, rng, period
        self.stop_flag = threading.Event()
        self.placed = {m: [] for m in markets}
        self.outcomes = {}

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            h = self.hosts[i % len(self.hosts)]
            m = self.markets[(i // len(self.hosts)) % len(self.markets)]
            i += 1
            rc, out, _ = h.cli("robot-worker", ["order", "--market", m, "--side", "buy", "--qty", "1"], timeout=5)
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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--bin", default=os.path.join(HERE, "../../.build/debug"))
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--markets", type=int, default=3)
    ap.add_argument("--lease", type=float, default=1.5, help="guard.lease_seconds of every host")
    ap.add_argument("--order-every", type=float, default=0.1, help="mean seconds between two orders (all hosts)")
    ap.add_argument("--settle", type=float, default=30, help="the most seconds for every market to be traded at the end")
    ap.add_argument("--keep", action="store_true", help="keep the folder (always kept on failure)")
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    base = tempfile.mkdtemp(prefix="mh.", dir="/tmp")
    repro = f"scenarios/chaos/multihost.py --seed {seed} --duration {a.duration:g} --hosts {a.hosts} --markets {a.markets} --lease {a.lease:g}"
    log(f"seed {seed}, {a.duration:g} s, {a.hosts} hosts, {a.markets} markets, lease {a.lease:g} s, folder {base}")
    markets = hostlib.market_list(a.markets)
    names = [m for m, _ in markets]
    lease_ns = int(a.lease * 1e9)
    within_ns = lease_ns + 1_000_000_000
    pg = pg_cluster.PgCluster(settings={"max_connections": "200"})
    proxies, hosts, watches = [], [], []
    frozen = {}  # pid -> [[stop_ns, cont_ns, cont_wall]]
    faults = {k: 0 for k in FAULTS}
    fault_ends = []  # monotonic ns
    log_lines = []
    figures, violations, status = {}, [], 0
    orders = None

    def holder_pids():
        out = []
        for m in names:
            out += [(h, pid) for h, pid, _ in hostlib.holders(hosts, m)]
        return out

    def pick_worker(prefer_holder):
        if prefer_holder:
            hs = holder_pids()
            if hs:
                return rng.choice(hs)
        pool = [(h, pid) for h in hosts for pid in h.worker_pids().values()]
        return rng.choice(pool) if pool else (None, None)

    def ensure_up(h):
        if h.watchdog is None or h.watchdog.poll() is not None:
            h.start_watchdog()
        if h.supervisor is None or h.supervisor.poll() is not None:
            h.start_supervisor()

    def all_traded():
        return all(len(hostlib.holders(hosts, m)) == 1 for m in names)

    try:
        try:
            pg.start()
        except pg_cluster.PgClusterError as e:
            raise SystemExit(f"the database did not start: {e}")
        for i in range(a.hosts):
            p = tcp_proxy.TcpProxy(pg.port).start()
            proxies.append(p)
            h = hostlib.Host(f"host-{chr(ord('a') + i)}", base, a.bin, markets, p.port, pg.password_file, a.lease)
            hosts.append(h)
            w = oracle.LockWatch(h.lock_path, names)
            watches.append(w)
        for h in hosts:
            h.start_watchdog()
            h.start_supervisor()
        for w in watches:
            w.start()
        if not hostlib.wait_for(all_traded, 60, step=0.1):
            raise SystemExit("not every market was traded by exactly one host within 60 s: "
                             + str({m: [(h.name, h.mode(m)) for h in hosts] for m in names}))
        log("every market traded by one host; chaos starts")
        orders = Orders(hosts, names, random.Random(seed + 1), a.order_every)
        orders.start()
        end = time.monotonic() + a.duration
        while time.monotonic() < end:
            kind = rng.choices(FAULTS, WEIGHTS)[0]
            hold = lambda lo, hi: rng.uniform(lo * a.lease, hi * a.lease)  # noqa: E731
            if kind == "worker_kill":
                h, pid = pick_worker(rng.random() < 0.5)
                if pid is None:
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue  # it ended between the pick and the kill (another fault, or its own stop)
                detail = f"{h.name} worker {pid}"
            elif kind == "worker_stop":
                h, pid = pick_worker(rng.random() < 0.5)
                if pid is None:
                    continue
                stopped_at = time.monotonic_ns()
                try:
                    os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                    continue  # it ended between the pick and the stop
                record = [stopped_at, None, None]
                frozen.setdefault(pid, []).append(record)
                time.sleep(hold(0.2, 2.0))
                try:
                    os.kill(pid, signal.SIGCONT)
                    record[1], record[2] = time.monotonic_ns(), time.time()
                except ProcessLookupError:
                    pass
                detail = f"{h.name} worker {pid} for {(record[1] or stopped_at) / 1e9 - stopped_at / 1e9:.2f} s"
            elif kind == "supervisor_kill":
                h = rng.choice(hosts)
                if h.supervisor and h.supervisor.poll() is None:
                    h.supervisor.kill()
                    h.supervisor.wait()
                h.start_supervisor()
                detail = h.name
            elif kind in ("partition_stall", "partition_close"):
                busy = [hh for hh, _ in holder_pids()]
                h = rng.choice(busy) if busy and rng.random() < 0.7 else rng.choice(hosts)
                p = proxies[hosts.index(h)]
                p.set_mode(kind.split("_")[1])
                time.sleep(hold(0.5, 2.5))
                p.set_mode("forward")
                detail = h.name
            else:  # host_kill: every process of the host, at once, while frozen ones stay frozen-then-dead
                h = rng.choice(hosts)
                for pid in h.own_pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                for pp in (h.supervisor, h.watchdog):
                    if pp is not None:
                        pp.wait()
                time.sleep(hold(0.5, 2.0))
                ensure_up(h)
                detail = h.name
            faults[kind] += 1
            fault_ends.append(time.monotonic_ns())
            log_lines.append(f"{kind} {detail}")
            for h in hosts:
                ensure_up(h)
            # The quiet spell: the market must be traded again within the lease + 1 s.
            time.sleep(a.lease + 1.0 + rng.uniform(0.2, 0.6))

        log(f"chaos over: {sum(faults.values())} faults {faults}; settling")
        orders.finish()
        for p in proxies:
            p.set_mode("forward")
        if not hostlib.wait_for(all_traded, a.settle, step=0.1):
            violations.append(f"not every market was traded by exactly one host within {a.settle:g} s after the chaos: "
                              + str({m: [(h.name, h.mode(m)) for h in hosts] for m in names}))
        for w in watches:
            w.finish()
        last_held = {}
        for w in watches:
            last_held.update(w.last_held_ns)
        per_market = {}
        for m in names:
            events = []
            for h in hosts:
                events += h.events(m)
            windows = oracle.aggressive_windows(m, events, last_held, violations)
            windows = oracle.cut_frozen_windows(windows, events, {pid: [tuple(r) for r in rs] for pid, rs in frozen.items()})
            before = len(violations)
            handover = oracle.check_windows(m, windows, violations)
            overlaps = len(violations) - before
            fences = oracle.check_window_fences(m, windows, oracle.window_fences(events), violations)
            recovery = oracle.check_recovery(m, windows, fault_ends, within_ns, violations)
            placed_events = sorted((e for e in events if e.get("type") == "ORDER_PLACED"), key=lambda e: e.get("ts") or "")
            order_figures = oracle.check_orders(m, placed_events, sorted(orders.placed[m]), violations)
            per_market[m] = {
                "aggressive_windows": len(windows), "overlaps": overlaps, "runs_trading": len(fences),
                "fence_first": fences[0] if fences else None, "fence_last": fences[-1] if fences else None,
                "shortest_handover_ms": None if handover is None else round(handover, 1),
                "longest_recovery_s": round(recovery, 3),
                "windows_cut_at_freeze": sum(1 for w in windows if w[4].startswith("frozen")),
                **order_figures,
            }
        figures = {
            "seed": seed, "duration_s": a.duration, "hosts": a.hosts, "markets": a.markets, "lease_s": a.lease,
            "faults": faults, "faults_total": sum(faults.values()), "fault_log": log_lines, "order_outcomes": orders.outcomes,
            "overlapping_aggressive_windows": sum(f["overlaps"] for f in per_market.values()),
            "aggressive_windows": sum(f["aggressive_windows"] for f in per_market.values()),
            "longest_recovery_s": max((f["longest_recovery_s"] for f in per_market.values()), default=None),
            "recovery_bound_s": within_ns / 1e9, "orders_placed": sum(f["orders_placed_seen"] for f in per_market.values()),
            "per_market": per_market, "violations": violations,
        }
    except SystemExit as e:
        status = 2
        violations.append(str(e))
        figures = {"seed": seed, "violations": violations}
    finally:
        if orders is not None:
            orders.stop_flag.set()
        for w in watches:
            w.stop_flag.set()
        for pid in list(frozen):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        for h in hosts:
            h.stop()
        for p in proxies:
            p.stop()
        pg.stop()

    print("\n=== multi-host chaos figures ===")
    if "per_market" in figures:
        print(f"seed {seed}, {a.duration:g} s, {a.hosts} hosts, {a.markets} markets, lease {a.lease:g} s")
        print(f"faults injected: {figures['faults_total']} {faults}; orders: {figures['order_outcomes']}")
        print("WINDOWS: AGGRESSIVE windows of every host's runs; RUNS: runs that traded; FENCES: the first and last")
        print("run's fence (strictly increasing); RECOVERY: longest time from a fault's end to the market traded again")
        print(f"(bound {figures['recovery_bound_s']:g} s); CUT: windows of frozen holders cut at the freeze.")
        print(f"{'MARKET':6} {'WINDOWS':>7} {'OVERLAPS':>8} {'RUNS':>5} {'FENCES':>9} {'HANDOVER':>9} {'RECOVERY':>9} {'CUT':>4} {'ORDERS':>6}")
        for m, f in figures["per_market"].items():
            handover = "-" if f["shortest_handover_ms"] is None else f"{f['shortest_handover_ms']:g}ms"
            print(f"{m:6} {f['aggressive_windows']:>7} {f['overlaps']:>8} {f['runs_trading']:>5} "
                  f"{str(f['fence_first']) + '..' + str(f['fence_last']):>9} {handover:>9} {f['longest_recovery_s']:>8}s "
                  f"{f['windows_cut_at_freeze']:>4} {f['orders_journaled']:>6}")
    print("MULTIHOST_CHAOS_RESULT " + json.dumps(figures, sort_keys=True))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    if violations:
        status = status or 1
        for v in violations:
            print(f"VIOLATION: {v}")
        print(f"FAILED: reproduce with {repro} (folder kept: {base})")
    else:
        print("PASSED")
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
