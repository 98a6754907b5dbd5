"""Speaks the strategy protocol (docs/STRATEGY.md) on the worker's socket and drives a `Strategy`."""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time
from typing import Any, Callable, Dict, Optional

from .messages import Fill, Hello, OrderAnswer, OrderUpdate, Position, Tick
from .strategy import Strategy

PROTOCOL_VERSION = 1


class ProtocolError(Exception):
    pass


class Runner:
    """Reads the worker's lines from `sock`, calls the strategy, writes its messages back, and
    sends a heartbeat whenever it has written nothing for a third of `heartbeat_seconds`."""

    def __init__(self, strategy: Strategy, sock: socket.socket) -> None:
        self.strategy = strategy
        self.sock = sock
        self.heartbeat_seconds = 5.0
        self.last_sent = time.monotonic()
        self.errors: list = []
        self._buffer = b""
        self._running = True
        strategy._runner = self

    def send(self, message: Dict[str, Any]) -> None:
        message = {"v": PROTOCOL_VERSION, **message}
        self.sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        self.last_sent = time.monotonic()

    def stop(self) -> None:
        self._running = False

    def run(self) -> int:
        """Until `shutdown` or the worker closes the socket; returns the exit status."""
        while self._running:
            wait = max(0.0, self.last_sent + self.heartbeat_seconds / 3 - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                self.send({"type": "heartbeat"})
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                return 0
            self._buffer += chunk
            while self._running:
                end = self._buffer.find(b"\n")
                if end < 0:
                    break
                line = self._buffer[:end]
                self._buffer = self._buffer[end + 1 :]
                if line:
                    self.dispatch(json.loads(line))
        return 0

    def dispatch(self, m: Dict[str, Any]) -> None:
        kind = m.get("type")
        s = self.strategy
        handler: Optional[Callable[[Dict[str, Any]], None]] = self._handlers.get(kind)  # type: ignore[arg-type]
        if handler is None:
            return  # a newer worker's message: ignored, as docs/STRATEGY.md asks
        handler(self, m)

    def _hello(self, m: Dict[str, Any]) -> None:
        if m.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolError("the worker speaks protocol %r, this SDK %d" % (m.get("protocol"), PROTOCOL_VERSION))
        s = self.strategy
        hello = Hello.parse(m)
        s.hello = hello
        s.mode = hello.mode
        s.positions = dict(hello.positions)
        self.heartbeat_seconds = hello.heartbeat_seconds
        s.on_start(hello)
        self.send({"type": "ready"})

    def _tick(self, m: Dict[str, Any]) -> None:
        self.strategy.on_tick(Tick.parse(m))

    def _answer(self, m: Dict[str, Any]) -> None:
        s = self.strategy
        answer = OrderAnswer.parse(m)
        if answer.tag is not None:
            s.pending.pop(answer.tag, None)
        if answer.accepted and answer.client_order_id:
            s.open_orders[answer.client_order_id] = answer.order
        s.on_order_answer(answer)

    def _update(self, m: Dict[str, Any]) -> None:
        s = self.strategy
        update = OrderUpdate.parse(m)
        if update.status == "OPEN":
            s.open_orders[update.client_order_id] = update.order
        else:
            s.open_orders.pop(update.client_order_id, None)
        s.on_order_update(update)

    def _fill(self, m: Dict[str, Any]) -> None:
        self.strategy.on_fill(Fill.parse(m))

    def _position(self, m: Dict[str, Any]) -> None:
        p = Position.parse(m)
        self.strategy.positions[p.stream] = p.position
        self.strategy.on_position(p)

    def _mode(self, m: Dict[str, Any]) -> None:
        self.strategy.mode = m.get("mode", self.strategy.mode)
        self.strategy.on_mode(self.strategy.mode, m.get("reason", ""))

    def _error(self, m: Dict[str, Any]) -> None:
        self.errors.append(m)

    def _cancel_answer(self, m: Dict[str, Any]) -> None:
        pass

    def _shutdown(self, m: Dict[str, Any]) -> None:
        self.strategy.on_shutdown(m.get("reason", ""))
        self._running = False

    _handlers: Dict[str, Callable[["Runner", Dict[str, Any]], None]] = {
        "hello": _hello,
        "tick": _tick,
        "order_accepted": _answer,
        "order_rejected": _answer,
        "order_update": _update,
        "fill": _fill,
        "position": _position,
        "mode": _mode,
        "error": _error,
        "cancel_accepted": _cancel_answer,
        "cancel_rejected": _cancel_answer,
        "shutdown": _shutdown,
    }


def run(strategy: Strategy, fd: Optional[int] = None) -> None:
    """Runs `strategy` on the worker's socket (`STRATEGY_FD`, else descriptor 3) and exits the
    process when the worker says `shutdown` or closes the socket."""
    if fd is None:
        fd = int(os.environ.get("STRATEGY_FD", "3"))
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    sys.exit(Runner(strategy, sock).run())
