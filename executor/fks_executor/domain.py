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


class Position(enum.StrEnum):
    """Where a strategy says its position is (``{{strategy.market_position}}``)."""

    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


#: ``account`` of an alert meant for every account of the pipeline (docs/executor.md#fan-out).
ALL_ACCOUNTS = "*"


@dataclass(frozen=True, slots=True)
class TakeProfit:
    """One take-profit target: ``percent`` of the position closed at ``price``."""

    price: float
    percent: float


@dataclass(frozen=True, slots=True)
class TrailingStop:
    """A trailing stop: a callback of ``percent`` of the price, or of ``amount`` in quote
    currency (exactly one is set), optionally armed only once ``activation_price`` trades."""

    percent: float | None = None
    amount: float | None = None
    activation_price: float | None = None


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
    account: str | None = None  # None = the pipeline's default account; ALL_ACCOUNTS = every one
    take_profits: tuple[TakeProfit, ...] = ()
    trailing_stop: TrailingStop | None = None
    position: Position | None = None  # target-position mode: where the position should be
    position_size: float | None = None  # the strategy's position size (absolute)
    prev_position_size: float | None = None  # the strategy's previous position size (absolute)

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
            tuple((t.price, t.percent) for t in self.take_profits),
            None if (trail := self.trailing_stop) is None
            else (trail.percent, trail.amount, trail.activation_price),
            None if self.position is None else self.position.value,
            self.position_size,
            self.prev_position_size,
        )  # fmt: skip

    @classmethod
    def from_tuple(cls, values: tuple[Any, ...]) -> Signal:
        (
            sid,
            symbol,
            action,
            ts,
            conf,
            price,
            order_type,
            sl,
            tp,
            amount,
            usd,
            atr,
            acct,
            tps,
            trailing,
            position,
            size,
            prev_size,
        ) = values
        return cls(
            sid, symbol, Action(action), ts, conf, price, OrderType(order_type), sl, tp,
            amount, usd, atr, acct, tuple(TakeProfit(*t) for t in tps),
            None if trailing is None else TrailingStop(*trailing),
            None if position is None else Position(position), size, prev_size,
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        """The inverse of :meth:`as_dict` (journals written before a field existed lack it)."""
        values = dict(data)
        values["action"] = Action(values["action"])
        values["order_type"] = OrderType(values.get("order_type", OrderType.MARKET))
        values["take_profits"] = tuple(TakeProfit(**t) for t in values.get("take_profits", ()))
        if values.get("trailing_stop") is not None:
            values["trailing_stop"] = TrailingStop(**values["trailing_stop"])
        if values.get("position") is not None:
            values["position"] = Position(values["position"])
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
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    """A fan-out: each account's ``{account, status, reason, detail?, order, orders}``
    (docs/executor.md#fan-out); empty for a signal of one account."""
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
            "outcomes": self.outcomes,
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
        if self.outcomes:
            out["outcomes"] = self.outcomes
        return out
