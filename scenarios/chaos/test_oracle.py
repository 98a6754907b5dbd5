"""The chaos oracle's own tests (pytest): each check fails on the fault it is there to see.

    python3 -m pytest -q scenarios/chaos/test_oracle.py

Run by Tests/EndToEndTests/ChaosTests.swift too.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

MS = 1_000_000


def event(run, pid, seq, type_, fence=1, ts="2026-11-21T07:15:00.000000Z", **data):
    e = {"v": 1, "type": type_, "market": "ES", "run_id": run, "pid": pid, "fence": fence, "ts": ts, "data": data}
    if seq is not None:
        e["seq"] = seq
    return e


def mode(run, pid, seq, to, at_ms, fence=1):
    return event(run, pid, seq, "SYSTEM_MODE_CHANGE", fence, **{"from": "OBSERVE_ONLY", "to": to, "monotonic_ns": at_ms * MS})


def status(runs, events, gaps=0):
    return {"markets": {"ES": {"runs": [{"run_id": r, "applied_seq": s} for r, s in runs.items()],
                               "counters": {"events": events, "gaps": gaps, "duplicates": 0}}}}


def test_windows_that_follow_each_other_pass_and_report_the_handover():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("B", 20, 1, "AGGRESSIVE", 400)]
    violations = []
    windows = oracle.aggressive_windows("ES", events, {("ES", 10): 300 * MS, ("ES", 20): 900 * MS}, violations)
    assert oracle.check_windows("ES", windows, violations) == 100.0
    assert violations == []


def test_a_run_still_holding_the_lock_after_another_became_aggressive_is_two_executors():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("B", 20, 1, "AGGRESSIVE", 400)]
    violations = []
    windows = oracle.aggressive_windows("ES", events, {("ES", 10): 450 * MS, ("ES", 20): 900 * MS}, violations)
    oracle.check_windows("ES", windows, violations)
    assert len(violations) == 1 and "two executors" in violations[0] and "50.0 ms" in violations[0]


def test_a_window_closed_by_a_mode_change_ends_there_not_at_the_lock():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("A", 10, 2, "SHUTDOWN", 200), mode("B", 20, 1, "AGGRESSIVE", 400)]
    violations = []
    windows = oracle.aggressive_windows("ES", events, {("ES", 10): 450 * MS, ("ES", 20): 900 * MS}, violations)
    oracle.check_windows("ES", windows, violations)
    assert violations == []


def test_a_mode_change_without_monotonic_time_is_a_violation():
    e = mode("A", 10, 1, "AGGRESSIVE", 100)
    del e["data"]["monotonic_ns"]
    violations = []
    oracle.aggressive_windows("ES", [e], {}, violations)
    assert "no monotonic_ns" in violations[0]


def test_one_loss_and_one_double_apply_do_not_cancel_out():
    # A journaled 3 seqs and B 2; the watchdog shows A at 2 (one lost) and counts 5 events (one twice).
    journal = [event("A", 10, s, "HEARTBEAT_X") for s in (1, 2, 3)] + [event("B", 20, s, "HEARTBEAT_X") for s in (1, 2)]
    figures, problems, waiting = oracle.applied_figures("ES", journal, journal, status({"A": 2, "B": 2}, 5), oracle.AppliedHistory())
    violations = []
    oracle.check_applied("ES", figures, problems, violations)
    assert figures["in_flight"] == 1 and waiting
    assert figures["applied_twice"] == 1 and figures["lost"] == 1
    assert any("applied twice" in v for v in violations) and any("not applied" in v for v in violations)


def test_a_run_the_watchdog_forgot_is_judged_by_what_it_showed_before():
    journal = [event("A", 10, s, "X") for s in (1, 2, 3)] + [event("B", 20, 1, "X")]
    history = oracle.AppliedHistory()
    history.record(status({"A": 3}, 3))
    figures, problems, waiting = oracle.applied_figures("ES", journal, journal, status({"B": 1}, 4), history)
    assert (figures["in_flight"], figures["lost"], figures["applied_twice"], waiting) == (0, 0, 0, [])
    assert figures["runs_forgotten_by_watchdog"] == 1
    # Forgotten before it was complete: in flight for ever, so the settle fails with what it saw.
    history = oracle.AppliedHistory()
    history.record(status({"A": 2}, 2))
    figures, _, waiting = oracle.applied_figures("ES", journal, journal, status({"B": 1}, 3), history)
    assert figures["in_flight"] == 1 and "A applied 2/3 (not listed)" in waiting[0]


def test_seqs_journaled_after_the_status_are_late_not_lost():
    before = [event("A", 10, s, "X") for s in (1, 2)]
    after = before + [event("A", 10, 3, "X")]
    figures, problems, waiting = oracle.applied_figures("ES", before, after, status({"A": 2}, 2), oracle.AppliedHistory())
    assert (figures["in_flight"], figures["late"], figures["lost"], problems, waiting) == (0, 1, 0, [], [])


def test_orders_repeated_ids_lower_fences_and_unjournaled_answers_are_violations():
    placed = lambda run, fence, cid: event(run, 1, 1, "ORDER_PLACED", fence, client_order_id=cid)  # noqa: E731
    good = [placed("A", 7, "SIM-ES-F7-000001"), placed("B", 8, "SIM-ES-F8-000001")]
    violations = []
    oracle.check_orders("ES", good, [(1, "SIM-ES-F7-000001"), (2, "SIM-ES-F8-000001")], violations)
    assert violations == []
    oracle.check_orders("ES", good + [placed("C", 8, "SIM-ES-F8-000001")], [], violations)
    assert any("placed twice" in v for v in violations)
    violations = []
    oracle.check_orders("ES", [placed("B", 8, "SIM-ES-F8-000001"), placed("A", 7, "SIM-ES-F7-000002")], [], violations)
    assert any("fence 7 after an order with fence 8" in v for v in violations)
    violations = []
    oracle.check_orders("ES", good, [(1, "SIM-ES-F8-000001"), (2, "SIM-ES-F7-000001"), (3, "SIM-ES-F9-000001")], violations)
    assert any("placed after one with fence 8" in v for v in violations)
    assert any("SIM-ES-F9-000001 was answered as placed but is not journaled" in v for v in violations)


def test_an_acquisition_without_release_or_stale_passes_only_after_a_lock_file_fault():
    events = [event("A", 10, 1, "CANONICAL_MARKET_LOCK_ACQUIRED", 1, ts="2026-11-21T07:15:00.000000Z"),
              event("B", 20, 1, "CANONICAL_MARKET_LOCK_ACQUIRED", 2, ts="2026-11-21T07:15:05.000000Z")]
    violations = []
    oracle.check_journal_locks("ES", events, violations)
    assert len(violations) == 1 and "neither RELEASED nor been reported STALE" in violations[0]
    deleted_at = oracle.wall_seconds("2026-11-21T07:15:02.000000Z")
    violations = []
    assert oracle.check_journal_locks("ES", events, violations, [deleted_at]) == [1, 2]
    assert violations == []
    violations = []
    oracle.check_journal_locks("ES", events + [event("C", 30, 1, "CANONICAL_MARKET_LOCK_ACQUIRED", 2)], violations, [deleted_at])
    assert any("not above the previous 2" in v for v in violations)


def test_a_lock_file_fault_before_the_holder_journaled_its_acquisition_still_counts():
    # The holder named its run at 07:15:00, took the lock, was stopped, and journaled ACQUIRED at
    # 07:15:10; the lock file was deleted at 07:15:02, so the next run found no record.
    events = [event("ES-20261121T071500Z-0000000a", 10, 1, "CANONICAL_MARKET_LOCK_ACQUIRED", 1, ts="2026-11-21T07:15:10.000000Z"),
              event("ES-20261121T071520Z-0000000b", 20, 1, "CANONICAL_MARKET_LOCK_ACQUIRED", 2, ts="2026-11-21T07:15:21.000000Z")]
    violations = []
    oracle.check_journal_locks("ES", events, violations, [oracle.wall_seconds("2026-11-21T07:15:02.000000Z")])
    assert violations == []
    oracle.check_journal_locks("ES", events, violations, [oracle.wall_seconds("2026-11-21T07:14:50.000000Z")])
    assert len(violations) == 1


def test_the_journal_cache_reads_what_was_appended_and_starts_over_on_a_new_file(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"run_id":"A","seq":1}\n{"run_id":"A","se')
    cache = oracle.JournalCache()
    assert cache.read(str(path)) == ([{"run_id": "A", "seq": 1}], 0)
    with open(path, "ab") as f:
        f.write(b'q":2}\nnot json\n')
    assert cache.read(str(path)) == ([{"run_id": "A", "seq": 1}, {"run_id": "A", "seq": 2}], 1)
    (tmp_path / "new").write_bytes(b'{"run_id":"B","seq":1}\n')
    os.rename(tmp_path / "new", path)
    assert cache.read(str(path)) == ([{"run_id": "B", "seq": 1}], 0)


# --- Across hosts


def lost(run, pid, seq, at_ms, ts, fence=1, deadline_ms=None):
    data = {"from": "AGGRESSIVE", "to": "OBSERVE_ONLY", "reason": "LEASE_LOST: no renewal", "monotonic_ns": at_ms * MS}
    if deadline_ms is not None:
        data["lease_deadline_monotonic_ns"] = deadline_ms * MS
    return event(run, pid, seq, "SYSTEM_MODE_CHANGE", fence, ts=ts, **data)


def test_a_lost_lease_ends_the_window_at_the_deadline_it_names():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("B", 20, 1, "AGGRESSIVE", 400, fence=2),
              lost("A", 10, 2, 600, "2026-11-21T07:15:00.600000Z", deadline_ms=350)]
    violations = []
    windows = oracle.aggressive_windows("ES", events, {("ES", 20): 900 * MS}, violations)
    assert oracle.check_windows("ES", windows, violations) == 50.0
    assert violations == []
    # Without the deadline, the same journal is two executors for 200 ms.
    events[2] = lost("A", 10, 2, 600, "2026-11-21T07:15:00.600000Z")
    windows = oracle.aggressive_windows("ES", events, {("ES", 20): 900 * MS}, violations)
    oracle.check_windows("ES", windows, violations)
    assert len(violations) == 1 and "200.0 ms" in violations[0]


def test_a_frozen_holder_that_lost_its_lease_without_an_order_is_cut_at_the_freeze():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("B", 20, 1, "AGGRESSIVE", 400, fence=2),
              lost("A", 10, 2, 600, "2026-11-21T07:15:00.600000Z")]
    frozen = {10: [(200 * MS, 590 * MS, oracle.wall_seconds("2026-11-21T07:15:00.590000Z"))]}
    violations = []
    windows = oracle.cut_frozen_windows(oracle.aggressive_windows("ES", events, {("ES", 20): 900 * MS}, violations), events, frozen)
    oracle.check_windows("ES", windows, violations)
    assert violations == []
    # An order journaled after it woke and before it gave up: it traded while B did.
    events.insert(2, event("A", 10, 3, "ORDER_PLACED", ts="2026-11-21T07:15:00.595000Z", client_order_id="SIM-ES-F1-1"))
    windows = oracle.cut_frozen_windows(oracle.aggressive_windows("ES", events, {("ES", 20): 900 * MS}, violations), events, frozen)
    oracle.check_windows("ES", windows, violations)
    assert len(violations) == 1 and "two executors" in violations[0]


def test_a_holder_killed_while_frozen_ends_at_the_freeze():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100), mode("B", 20, 1, "AGGRESSIVE", 400, fence=2)]
    violations = []
    windows = oracle.aggressive_windows("ES", events, {("ES", 10): 700 * MS, ("ES", 20): 900 * MS}, violations)
    windows = oracle.cut_frozen_windows(windows, events, {10: [(200 * MS, None, None)]})
    oracle.check_windows("ES", windows, violations)
    assert violations == [] and windows[0][1] == 200 * MS


def test_fences_across_hosts_strictly_increase_in_the_order_runs_began_trading():
    events = [mode("A", 10, 1, "AGGRESSIVE", 100, fence=5), mode("B", 20, 1, "AGGRESSIVE", 400, fence=6),
              mode("C", 30, 1, "AGGRESSIVE", 800, fence=6)]
    violations = []
    windows = [(100 * MS, 300 * MS, "A", 10, ""), (400 * MS, 700 * MS, "B", 20, ""), (800 * MS, 900 * MS, "C", 30, "")]
    assert oracle.check_window_fences("ES", windows, oracle.window_fences(events), violations) == [5, 6, 6]
    assert len(violations) == 1 and "fence 6, not above run B's 6" in violations[0]


def test_a_market_must_be_traded_again_within_the_bound_after_each_fault():
    windows = [(100 * MS, 300 * MS, "A", 10, ""), (1200 * MS, 5000 * MS, "B", 20, "")]
    violations = []
    assert oracle.check_recovery("ES", windows, [250 * MS], 1000 * MS, violations) == 0.0  # still held at the end
    assert oracle.check_recovery("ES", windows, [400 * MS], 1000 * MS, violations) == 0.8
    assert violations == []
    oracle.check_recovery("ES", windows, [100 * MS], 1000 * MS, violations)
    assert len(violations) == 1 and "not traded by any host 1 s after" in violations[0]
