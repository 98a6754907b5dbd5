"""robot-runtime's strategy SDK: write a strategy as a subclass of `Strategy`, run it with `run`.

The protocol is docs/STRATEGY.md in the repository: NDJSON lines on the socket the worker hands the
strategy as descriptor 3 (`STRATEGY_FD`).
"""

from .messages import Fill, Hello, OrderAnswer, OrderUpdate, Position, Tick
from .runner import Runner, run
from .strategy import Strategy

PROTOCOL_VERSION = 1

__all__ = [
    "Fill",
    "Hello",
    "OrderAnswer",
    "OrderUpdate",
    "Position",
    "PROTOCOL_VERSION",
    "Runner",
    "Strategy",
    "Tick",
    "run",
]
