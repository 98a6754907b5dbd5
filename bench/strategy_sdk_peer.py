"""The benchmark's strategy on the Python SDK (bench/strategy.py): on every EVERY-th tick, when no
order of its own is open or unanswered, a market order of one lot (alternating buy and sell);
at `shutdown` it writes "ticks COUNT FIRST_NS LAST_NS", then per accepted order
"tick_mono_ns accepted_mono_ns received_mono_ns sent_mono_ns", to OUT.

    python3 bench/strategy_sdk_peer.py EVERY OUT     (PYTHONPATH=sdk/python; run by the worker)
"""

import signal
import sys
import time

from robot_strategy import OrderAnswer, Strategy, Tick, run


class Bench(Strategy):
    def __init__(self, every: int, out: str) -> None:
        super().__init__()
        self.every = every
        self.out = out
        self.side = 0
        self.sent = {}
        self.rows = []
        self.ticks = 0
        self.first = self.last = 0

    def on_tick(self, tick: Tick) -> None:
        self.last = time.monotonic_ns()
        if self.ticks == 0:
            self.first = self.last
        self.ticks += 1
        if tick.seq % self.every or self.open_orders or self.pending:
            return
        tag = "b%d" % tick.seq
        self.sent[tag] = (tick.mono_ns, time.monotonic_ns())
        self.place("sell" if self.side else "buy", 1, tag=tag)
        self.side ^= 1

    def on_order_answer(self, answer: OrderAnswer) -> None:
        if answer.accepted and answer.tag in self.sent:
            tick_ns, sent_ns = self.sent.pop(answer.tag)
            self.rows.append((tick_ns, answer.mono_ns, time.monotonic_ns(), sent_ns))

    def on_shutdown(self, reason: str) -> None:
        with open(self.out, "w") as f:
            f.write("ticks %d %d %d\n" % (self.ticks, self.first, self.last))
            for row in self.rows:
                f.write("%d %d %d %d\n" % row)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # `shutdown` comes first: the results are written then
    run(Bench(int(sys.argv[1]), sys.argv[2]))
