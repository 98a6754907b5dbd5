"""The SDK against a fake worker on a socketpair: the protocol both ways (docs/STRATEGY.md)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Dict, List

import pytest

from robot_strategy import Fill, OrderAnswer, Runner, Strategy, Tick
from robot_strategy.examples.ma_crossover import MovingAverageCrossover

HELLO: Dict[str, Any] = {
    "v": 1,
    "type": "hello",
    "protocol": 1,
    "account": "default",
    "market": "ES",
    "execution_instrument": "MES",
    "streams": [{"id": "ES1", "instrument": "ES"}],
    "mode": "AGGRESSIVE",
    "fence": 3,
    "positions": {"ES1": 0},
    "open_orders": [],
    "limits": {"max_order_quantity": 2},
    "heartbeat_seconds": 0.3,
}


class FakeWorker:
    def __init__(self, strategy: Strategy) -> None:
        self.ours, theirs = socket.socketpair()
        self.ours.settimeout(5)
        self.runner = Runner(strategy, theirs)
        self.result: List[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(self.runner.run()), daemon=True)
        self.buffer = b""

    def start(self, hello: Dict[str, Any] = HELLO) -> None:
        self.thread.start()
        self.send(hello)

    def send(self, m: Dict[str, Any]) -> None:
        self.ours.sendall(json.dumps(m).encode() + b"\n")

    def read(self) -> Dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = self.ours.recv(65536)
            assert chunk, "the strategy closed its socket"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def read_type(self, kind: str) -> Dict[str, Any]:
        seen = []
        for _ in range(50):
            m = self.read()
            if m["type"] == kind:
                return m
            seen.append(m["type"])
        raise AssertionError("no %s; saw %s" % (kind, seen))

    def close(self) -> None:
        self.send({"v": 1, "type": "shutdown", "reason": "test"})
        self.thread.join(5)
        self.ours.close()


def tick(seq: int, price: float) -> Dict[str, Any]:
    return {"v": 1, "type": "tick", "seq": seq, "instrument": "ES", "price": price, "size": 1, "time": "2026-12-04T18:00:00.000000Z", "mono_ns": seq}


class Recorder(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.ticks: List[Tick] = []
        self.answers: List[OrderAnswer] = []
        self.fills: List[Fill] = []
        self.modes: List[str] = []
        self.updates: List[str] = []

    def on_tick(self, t: Tick) -> None:
        self.ticks.append(t)
        if t.seq == 1:
            self.place("buy", 1, tag="first")
        if t.seq == 2:
            self.place("sell", 2, limit_price=5001.5, stream="ES1")

    def on_order_answer(self, a: OrderAnswer) -> None:
        self.answers.append(a)

    def on_fill(self, f: Fill) -> None:
        self.fills.append(f)

    def on_mode(self, mode: str, reason: str) -> None:
        self.modes.append(mode)

    def on_order_update(self, u) -> None:  # type: ignore[no-untyped-def]
        self.updates.append(u.status)


def test_hello_then_ready_and_orders_carry_their_fields() -> None:
    s = Recorder()
    w = FakeWorker(s)
    w.start()
    assert w.read() == {"v": 1, "type": "ready"}
    assert s.market == "ES" and s.streams == ["ES1"] and s.mode == "AGGRESSIVE"
    w.send(tick(1, 5000.25))
    assert w.read() == {"v": 1, "type": "order", "side": "buy", "quantity": 1, "tag": "first", "order_type": "market"}
    w.send(tick(2, 5000.5))
    m = w.read()
    assert m["order_type"] == "limit" and m["limit_price"] == 5001.5 and m["stream"] == "ES1" and m["quantity"] == 2
    assert set(s.pending) == {"first", m["tag"]}
    w.close()
    assert w.result == [0]


def test_answers_fills_positions_and_modes_update_the_state() -> None:
    s = Recorder()
    w = FakeWorker(s)
    w.start()
    w.read_type("ready")
    w.send(tick(1, 5000.25))
    w.read_type("order")
    order = {"client_order_id": "SIM-ES-F3-000001", "stream": "ES1", "side": "BUY", "quantity": 1, "status": "OPEN", "tag": "first"}
    w.send({"v": 1, "type": "order_accepted", "tag": "first", "client_order_id": "SIM-ES-F3-000001", "order": order, "mono_ns": 5})
    w.send({"v": 1, "type": "order_update", "client_order_id": "SIM-ES-F3-000001", "tag": "first", "status": "FILLED", "order": order})
    w.send({"v": 1, "type": "fill", "client_order_id": "SIM-ES-F3-000001", "tag": "first", "stream": "ES1", "side": "BUY", "quantity": 1, "price": 5000.5})
    w.send({"v": 1, "type": "position", "stream": "ES1", "position": 1, "market_position": 1})
    w.send({"v": 1, "type": "order_rejected", "tag": "x", "reason": "RISK_LIMIT", "limit": "max_position", "detail": "over"})
    w.send({"v": 1, "type": "mode", "mode": "OBSERVE_ONLY", "reason": "test"})
    w.send({"v": 1, "type": "something_new", "x": 1})
    w.close()
    assert [a.accepted for a in s.answers] == [True, False]
    assert s.answers[1].limit == "max_position" and s.answers[1].reason == "RISK_LIMIT"
    assert s.fills[0].price == 5000.5 and s.position() == 1.0
    assert s.open_orders == {} and s.updates == ["FILLED"] and "first" not in s.pending
    assert s.modes == ["OBSERVE_ONLY"] and s.mode == "OBSERVE_ONLY"


def test_heartbeats_while_idle() -> None:
    w = FakeWorker(Strategy())
    w.start()
    w.read_type("ready")
    started = time.monotonic()
    assert w.read()["type"] == "heartbeat"
    assert time.monotonic() - started < 1.0  # a third of 0.3 s, with room
    w.close()


def test_a_newer_protocol_is_refused() -> None:
    w = FakeWorker(Strategy())
    hello = dict(HELLO, protocol=2)
    w.thread = threading.Thread(target=lambda: pytest.raises(Exception, w.runner.run), daemon=True)
    w.start(hello)
    w.thread.join(5)
    assert not w.thread.is_alive()


def test_place_checks_its_arguments_and_needs_a_runner() -> None:
    s = Strategy()
    with pytest.raises(RuntimeError):
        s.place("buy", 1)
    w = FakeWorker(s)
    with pytest.raises(ValueError):
        s.place("hold", 1)
    with pytest.raises(ValueError):
        s.place("buy", 0)
    w.ours.close()


def test_ma_crossover_goes_long_on_a_rise_and_short_on_a_fall() -> None:
    s = MovingAverageCrossover(fast=2, slow=4)
    w = FakeWorker(s)
    w.start()
    w.read_type("ready")
    for i, p in enumerate([100, 100, 100, 101, 102], start=1):
        w.send(tick(i, p))
    buy = w.read_type("order")
    assert buy["side"] == "buy" and buy["quantity"] == 1
    order = {"client_order_id": "A", "stream": "ES1", "side": "BUY", "quantity": 1, "status": "OPEN"}
    w.send({"v": 1, "type": "order_accepted", "tag": buy["tag"], "client_order_id": "A", "order": order})
    w.send({"v": 1, "type": "order_update", "client_order_id": "A", "tag": buy["tag"], "status": "FILLED", "order": order})
    w.send({"v": 1, "type": "position", "stream": "ES1", "position": 1, "market_position": 1})
    for i, p in enumerate([99, 97, 95], start=6):
        w.send(tick(i, p))
    sell = w.read_type("order")
    assert sell["side"] == "sell" and sell["quantity"] == 2  # from +1 to -1
    w.close()
