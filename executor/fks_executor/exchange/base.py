"""The exchange seam: what the executor's flow calls, live or dry-run alike.

:class:`ExchangeClient` is the one interface the trader is typed against. Two implementations,
each composed of the same parts rather than one inheriting the other:
:class:`~fks_executor.exchange.live.LiveExchange` (ccxt, testnet or live: venue + market data +
order sender) and :class:`~fks_executor.exchange.paper.PaperExchange` (dry-run: venue + market
data, simulated fills, nothing private). Every method raises only
:class:`fks_executor.errors.ExecutorError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fks_executor.domain import OrderResult
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.plan import OrderLeg, OrderPlan
from fks_executor.exchange.venue import Venue
from fks_executor.risk import Fill
from fks_executor.sizing import Candle
from fks_executor.values import value

__all__ = [
    "AccountSpec",
    "Credentials",
    "ExchangeClient",
    "ExecutionReport",
    "LegFailure",
]


class AccountSpec(Protocol):
    """The account fields the exchange layer reads (``fks_executor.config.AccountConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def exchange(self) -> str: ...
    @property
    def environment(self) -> str: ...  # testnet | live
    @property
    def market_type(self) -> str: ...  # spot | margin | swap | future
    @property
    def endpoint(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Credentials:
    """Resolved secrets of one account. ``repr`` never shows them."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def values(self) -> tuple[str, ...]:
        return tuple(v for v in (self.api_key, self.secret, self.password) if v)


@value
class LegFailure:
    """A stop-loss/take-profit leg that could not be placed after the entry was."""

    leg: str  # sl | tp
    reason: str  # an ExecutorError reason
    detail: str


@value
class ExecutionReport:
    """What happened for one plan. ``entry`` is the main order (or the close order)."""

    plan: OrderPlan
    entry: OrderResult
    legs: tuple[OrderResult, ...] = ()
    leg_failures: tuple[LegFailure, ...] = ()
    cancelled: tuple[OrderResult, ...] = ()
    recovered: bool = False
    """The entry already existed on the exchange (found by client order id, not sent again)."""
    fills: tuple[Fill, ...] = ()
    """Fills seen in this execution (for the daily-loss ledger)."""
    protection_close: OrderResult | None = None
    """The close sent because a protection failed (``execution.onProtectionFailure: close``)."""
    protection_note: str | None = None
    """What was done about a failed protection (for the answer's ``detail``)."""

    def all_orders(self) -> tuple[OrderResult, ...]:
        """The entry, the legs, cancelled orders, and the close sent for a failed protection."""
        closed = (self.protection_close,) if self.protection_close is not None else ()
        return (self.entry, *self.legs, *self.cancelled, *closed)

    def orders(self) -> list[dict[str, Any]]:
        """Extra orders for ``Outcome.orders``: the legs, cancelled orders, then the close
        sent because a protection failed."""
        return [o.as_dict() for o in self.all_orders()[1:]]


class ExchangeClient(Protocol):
    """One account's exchange, started once per process and closed on shutdown."""

    @property
    def venue(self) -> Venue:
        """The account's ccxt instance and how it is called: its name (``account``), the
        exchange (``exchange_id``), ``capabilities``, and its circuit breaker (every request of
        the account goes through it)."""
        ...

    @property
    def dry_run(self) -> bool: ...
    @property
    def ready(self) -> bool:
        """Markets are loaded."""
        ...

    async def start(self) -> None:
        """Load the markets of the account's market type (retried; ExchangeUnavailable)."""
        ...

    async def close(self) -> None: ...

    def resolve_symbol(self, raw: str) -> str:
        """``BTCUSDT``, ``BINANCE:BTCUSDT``, ``BTCUSDT.P``... -> unified symbol, or
        SymbolNotAllowed."""
        ...

    def market(self, symbol: str) -> MarketInfo: ...

    async def fetch_price(self, symbol: str) -> float:
        """Last traded price (public ticker)."""
        ...

    async def fetch_free_balance(self, currency: str) -> float:
        """Free balance of ``currency`` (dry-run: paperBalanceUSD for the quote)."""
        ...

    async def fetch_position(self, symbol: str) -> float:
        """Signed position in base units: spot = total base held; contracts = open position."""
        ...

    async def fetch_side_position(self, symbol: str, side: str) -> float:
        """Hedge mode: the base units held on one side (``long`` / ``short``), >= 0."""
        ...

    async def fetch_account_state(
        self, symbol: str, *, balance: bool = True
    ) -> tuple[float, float]:
        """(free quote balance, signed position in base); ``balance=False`` skips the
        balance (0.0)."""
        ...

    async def fetch_candles(
        self, symbol: str, timeframe: str = "1h", limit: int = 100
    ) -> list[Candle]: ...

    async def find_order(self, symbol: str, leg: OrderLeg) -> OrderResult | None:
        """The planned order ``leg`` as the exchange has it, looked up by its client order
        id (None: there is none; dry-run: always None)."""
        ...

    async def execute(
        self,
        plan: OrderPlan,
        *,
        resume: bool = False,
        attempted_at: float | None = None,
        deadline: float | None = None,
    ) -> ExecutionReport:
        """Carry out ``plan``; at most one order per client order id.

        ``resume``: a previous attempt for this signal may have sent orders; look every order
        up by client order id before sending it (``attempted_at``: when that attempt started,
        so a request still in flight then is waited for). ``deadline`` (unix time): an order
        proven absent after a transient failure is sent again until then (None: never).
        """
        ...
