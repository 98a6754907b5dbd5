"""The worker's messages as typed values (docs/STRATEGY.md, "Worker to strategy")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass(frozen=True)
class Hello:
    account: str
    market: str
    execution_instrument: str
    streams: List[Dict[str, str]]
    mode: str
    fence: int
    positions: Dict[str, float]
    open_orders: List[Dict[str, Any]]
    limits: Dict[str, Any]
    heartbeat_seconds: float
    run_id: str = ""
    mode_reason: str = ""

    @staticmethod
    def parse(m: Dict[str, Any]) -> "Hello":
        return Hello(
            account=m.get("account", ""),
            market=m["market"],
            execution_instrument=m.get("execution_instrument", ""),
            streams=list(m.get("streams", [])),
            mode=m.get("mode", "OBSERVE_ONLY"),
            fence=int(m.get("fence", 0)),
            positions={k: float(v) for k, v in (m.get("positions") or {}).items()},
            open_orders=list(m.get("open_orders", [])),
            limits=dict(m.get("limits") or {}),
            heartbeat_seconds=float(m.get("heartbeat_seconds", 5)),
            run_id=m.get("run_id", ""),
            mode_reason=m.get("mode_reason", ""),
        )


@dataclass(frozen=True)
class Tick:
    seq: int
    instrument: str
    price: float
    size: float
    time: str
    mono_ns: int = 0

    @staticmethod
    def parse(m: Dict[str, Any]) -> "Tick":
        return Tick(
            seq=int(m.get("seq", 0)),
            instrument=m["instrument"],
            price=float(m["price"]),
            size=float(m.get("size", 0)),
            time=m.get("time", ""),
            mono_ns=int(m.get("mono_ns", 0)),
        )


@dataclass(frozen=True)
class OrderAnswer:
    """The one answer to an order: accepted (with its client order ID) or rejected (with a reason)."""

    accepted: bool
    tag: Optional[str]
    client_order_id: Optional[str] = None
    reason: Optional[str] = None
    limit: Optional[str] = None
    detail: str = ""
    mono_ns: int = 0
    order: Dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def parse(m: Dict[str, Any]) -> "OrderAnswer":
        return OrderAnswer(
            accepted=m["type"] == "order_accepted",
            tag=m.get("tag"),
            client_order_id=m.get("client_order_id"),
            reason=m.get("reason"),
            limit=m.get("limit"),
            detail=m.get("detail", ""),
            mono_ns=int(m.get("mono_ns", 0)),
            order=dict(m.get("order") or {}),
        )


@dataclass(frozen=True)
class OrderUpdate:
    client_order_id: str
    tag: Optional[str]
    status: str
    order: Dict[str, Any]

    @staticmethod
    def parse(m: Dict[str, Any]) -> "OrderUpdate":
        return OrderUpdate(
            client_order_id=m["client_order_id"], tag=m.get("tag"), status=m["status"], order=dict(m.get("order") or {})
        )


@dataclass(frozen=True)
class Fill:
    client_order_id: str
    tag: Optional[str]
    stream: str
    side: str
    quantity: int
    price: float

    @staticmethod
    def parse(m: Dict[str, Any]) -> "Fill":
        return Fill(
            client_order_id=m["client_order_id"],
            tag=m.get("tag"),
            stream=m["stream"],
            side=m["side"],
            quantity=int(m["quantity"]),
            price=float(m["price"]),
        )


@dataclass(frozen=True)
class Position:
    stream: str
    position: float
    market_position: float

    @staticmethod
    def parse(m: Dict[str, Any]) -> "Position":
        return Position(stream=m["stream"], position=float(m["position"]), market_position=float(m["market_position"]))
