"""A moving-average crossover on the worker's feed: long one lot while the fast average is above
the slow one, short one lot while it is below. Market orders on the market's first stream.

The worker runs it (config/robot.json, market ES); by hand it has no socket to speak on.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Optional

from robot_strategy import Fill, Hello, OrderAnswer, Strategy, Tick, run


class MovingAverageCrossover(Strategy):
    def __init__(self, fast: int = 5, slow: int = 20, lot: int = 1) -> None:
        super().__init__()
        if not 0 < fast < slow:
            raise ValueError("need 0 < fast < slow")
        self.fast = fast
        self.slow = slow
        self.lot = lot
        self.prices: Deque[float] = deque(maxlen=slow)
        self.signal: Optional[int] = None  # +1 long, -1 short

    def on_start(self, hello: Hello) -> None:
        self.log("ma_crossover %d/%d on %s, lot %d, position %s" % (self.fast, self.slow, hello.market, self.lot, hello.positions))

    def target(self) -> Optional[int]:
        """+lot, -lot, or None before `slow` prices."""
        if len(self.prices) < self.slow:
            return None
        fast = sum(list(self.prices)[-self.fast :]) / self.fast
        slow = sum(self.prices) / self.slow
        if fast > slow:
            return self.lot
        if fast < slow:
            return -self.lot
        return None

    def on_tick(self, tick: Tick) -> None:
        self.prices.append(tick.price)
        target = self.target()
        if target is None or self.mode != "AGGRESSIVE" or self.open_orders or self.pending:
            return
        delta = target - int(self.position())
        if delta > 0:
            self.place("buy", delta, tag="ma-%d" % tick.seq)
        elif delta < 0:
            self.place("sell", -delta, tag="ma-%d" % tick.seq)

    def on_order_answer(self, answer: OrderAnswer) -> None:
        if not answer.accepted:
            self.log("order %s rejected: %s %s" % (answer.tag, answer.reason, answer.detail), level="warning")

    def on_fill(self, fill: Fill) -> None:
        self.log("filled %s %d at %s" % (fill.side, fill.quantity, fill.price))


if __name__ == "__main__":
    run(MovingAverageCrossover())
