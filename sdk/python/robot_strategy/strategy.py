"""The base class of a strategy: override the `on_*` methods, call `place` and `cancel`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from .messages import Fill, Hello, OrderAnswer, OrderUpdate, Position, Tick

if TYPE_CHECKING:
    from .runner import Runner


class Strategy:
    """A strategy. The runner calls the `on_*` methods on one thread, one message at a time.

    State the runner keeps for you: `hello` (what the worker said at the start), `mode`
    (AGGRESSIVE, OBSERVE_ONLY or SHUTDOWN: new orders go out only in AGGRESSIVE), `positions`
    (by stream), `open_orders` (client order ID -> order, the orders this strategy placed and
    that are still open) and `pending` (tags of orders sent and not yet answered).
    """

    def __init__(self) -> None:
        self.hello: Optional[Hello] = None
        self.mode: str = "OBSERVE_ONLY"
        self.positions: Dict[str, float] = {}
        self.open_orders: Dict[str, Dict[str, Any]] = {}
        self.pending: Dict[str, Dict[str, Any]] = {}
        self._runner: Optional["Runner"] = None
        self._next_tag = 0

    # -- callbacks (override what you need) --------------------------------------------------

    def on_start(self, hello: Hello) -> None:
        """After `hello`, before `ready` is sent: set up from the market, positions and limits."""

    def on_tick(self, tick: Tick) -> None:
        """A market-data tick."""

    def on_order_answer(self, answer: OrderAnswer) -> None:
        """The one answer to an order: `answer.accepted`, else `answer.reason` (and `answer.limit`)."""

    def on_order_update(self, update: OrderUpdate) -> None:
        """An order of this strategy changed: FILLED, CANCELLED or TIMED_OUT."""

    def on_fill(self, fill: Fill) -> None:
        """An order of this strategy filled."""

    def on_position(self, position: Position) -> None:
        """A stream's position after a fill."""

    def on_mode(self, mode: str, reason: str) -> None:
        """The worker's mode changed."""

    def on_shutdown(self, reason: str) -> None:
        """The worker is stopping; the runner returns after this."""

    # -- helpers ------------------------------------------------------------------------------

    @property
    def market(self) -> str:
        return self.hello.market if self.hello else ""

    @property
    def streams(self) -> list:
        return [s["id"] for s in self.hello.streams] if self.hello else []

    def position(self, stream: Optional[str] = None) -> float:
        """A stream's position (the first stream's when none is named)."""
        name = stream or (self.streams[0] if self.streams else "")
        return self.positions.get(name, 0.0)

    def place(
        self,
        side: str,
        quantity: int,
        *,
        stream: Optional[str] = None,
        limit_price: Optional[float] = None,
        tag: Optional[str] = None,
    ) -> str:
        """Sends an order (a market order without `limit_price`); returns its tag. The answer
        arrives as `on_order_answer` with the same tag."""
        if side not in ("buy", "sell"):
            raise ValueError("side must be 'buy' or 'sell'")
        if not isinstance(quantity, int) or quantity < 1:
            raise ValueError("quantity must be a whole number from 1")
        if tag is None:
            self._next_tag += 1
            tag = "t%d" % self._next_tag
        message: Dict[str, Any] = {"type": "order", "side": side, "quantity": quantity, "tag": tag}
        if stream is not None:
            message["stream"] = stream
        if limit_price is None:
            message["order_type"] = "market"
        else:
            message["order_type"] = "limit"
            message["limit_price"] = float(limit_price)
        self.pending[tag] = message
        self._send(message)
        return tag

    def cancel(self, client_order_id: str, tag: Optional[str] = None) -> None:
        message: Dict[str, Any] = {"type": "cancel", "client_order_id": client_order_id}
        if tag is not None:
            message["tag"] = tag
        self._send(message)

    def log(self, message: str, level: str = "info") -> None:
        """A line in the worker's journal (STRATEGY_LOG; at most 10 a second are kept)."""
        self._send({"type": "log", "level": level, "message": message})

    def _send(self, message: Dict[str, Any]) -> None:
        if self._runner is None:
            raise RuntimeError("the strategy is not running: start it with robot_strategy.run(strategy)")
        self._runner.send(message)
