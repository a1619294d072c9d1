"""Plain domain values shared by intake (which produces them) and execution (which consumes them).

No I/O here. ``Signal`` is what is left of an alert after authentication, parsing and
normalisation; ``OrderResult`` is what the exchange layer reports about an order (real or
simulated); ``Outcome`` is the recorded result of one signal, the body of every answer.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fks_executor.errors import ExecutorError


class Action(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Signal:
    """A validated, normalised alert. ``symbol`` is as sent (resolved against markets later)."""

    signal_id: str
    symbol: str
    action: Action
    timestamp: float  # unix seconds, UTC
    confidence: float = 1.0
    price: float | None = None
    order_type: OrderType = OrderType.MARKET
    stop_loss: float | None = None
    take_profit: float | None = None
    amount: float | None = None
    size_usd: float | None = None
    atr: float | None = None
    account: str | None = None  # None = the pipeline's default account

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the journal stores this)."""
        return asdict(self)

    def as_tuple(self) -> tuple[Any, ...]:
        """Plain values only (enums as text): a form the garbage collector need not track."""
        return (
            self.signal_id,
            self.symbol,
            self.action.value,
            self.timestamp,
            self.confidence,
            self.price,
            self.order_type.value,
            self.stop_loss,
            self.take_profit,
            self.amount,
            self.size_usd,
            self.atr,
            self.account,
        )

    @classmethod
    def from_tuple(cls, values: tuple[Any, ...]) -> Signal:
        (sid, symbol, action, ts, conf, price, order_type, sl, tp, amount, usd, atr, acct) = values
        return cls(
            sid, symbol, Action(action), ts, conf, price, OrderType(order_type), sl, tp,
            amount, usd, atr, acct,
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        values = dict(data)
        values["action"] = Action(values["action"])
        values["order_type"] = OrderType(values.get("order_type", OrderType.MARKET))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class OrderResult:
    """One order as the exchange (or the dry-run simulator) reports it."""

    id: str
    client_order_id: str
    account: str
    exchange: str
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # "market" | "limit" | "stop_loss" | "take_profit" ...
    amount: float
    price: float | None
    status: str  # "open" | "closed" | "canceled" | "simulated"
    filled: float = 0.0
    cost: float = 0.0
    dry_run: bool = False
    average: float | None = None
    """Average fill price, as the exchange reports it (None: nothing filled, or not told)."""
    fee: float | None = None
    """Fees paid for the fills, in ``fee_currency`` (None: not reported)."""
    fee_currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "account": self.account,
            "exchange": self.exchange,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "amount": self.amount,
            "price": self.price,
            "status": self.status,
            "filled": self.filled,
            "cost": self.cost,
            "average": self.average,
            "fee": None if self.fee is None else {"cost": self.fee, "currency": self.fee_currency},
            "dry_run": self.dry_run,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer body for one signal: ``{"status", "reason", "signal_id", "order", ...}``."""

    status: str  # executed | dry_run | accepted | duplicate | ignored | rejected | failed
    signal_id: str | None
    http_status: int = 200
    reason: str | None = None
    detail: str | None = None
    order: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = field(
        default_factory=list
    )  # extra orders (stop-loss, take-profit)
    first: dict[str, Any] | None = None  # on a duplicate: the first answer's body
    unsettled: bool = False
    """A failure after which an order of this signal may exist on the exchange (its request
    went out, and its fate could not be settled): the next attempt looks it up first. Recorded
    in the journal, never shown in the answer."""

    @classmethod
    def from_error(cls, error: ExecutorError, signal_id: str | None) -> Outcome:
        """THE translation of a refusal into its answer (docs/executor.md, "Answers")."""
        return cls(
            status=error.status,
            signal_id=signal_id,
            http_status=error.http_status,
            reason=error.reason,
            detail=error.detail or None,
            unsettled=error.order_may_exist,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form including ``http_status`` (the journal stores this)."""
        return {
            "status": self.status,
            "signal_id": self.signal_id,
            "http_status": self.http_status,
            "reason": self.reason,
            "detail": self.detail,
            "order": self.order,
            "orders": self.orders,
            "first": self.first,
            "unsettled": self.unsettled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "reason": self.reason,
            "signal_id": self.signal_id,
            "order": self.order,
        }
        if self.detail:
            out["detail"] = self.detail
        if self.orders:
            out["orders"] = self.orders
        if self.first is not None:
            out["first"] = self.first
        return out
