"""An account's ``spec.futures`` (leverage, margin mode, position mode) applied per symbol
before the symbol's first entry, verified, and never changed under an open position
(docs/trading.md#futures-settings).

For one (account, symbol), :meth:`FuturesSettingsKeeper.prepare` runs once, on the first entry:

    read the venue's values          leverage (``fetch_leverage``), margin mode
                                     (``fetch_margin_mode``), position mode
                                     (``fetch_position_mode`` where ccxt has it, Binance; else
                                     the ``hedged`` flag of the symbol's position rows, Bybit)
    nothing differs                  -> applied (no request sent)
    a value differs, position open   -> conflict: nothing sent (``futures_settings_conflict``)
    a value differs, flat            -> position mode, margin mode, leverage set (an "already
                                        set" answer counts as set); a refusal because of
                                        positions or orders (on another symbol, for the
                                        account-wide settings) -> conflict
    read back                        a value still off -> conflict ``NotVerified``

An applied symbol is cached (never read again while the process runs); a symbol in conflict is
read again on its next entry, so closing the position clears the conflict. Every conflict is an
audit line ``futures_settings_conflict``, the gauge ``fks_futures_settings_conflicts`` and a
``conflicts`` entry of ``/ready`` (which stays ready: the other symbols, and closes, still
trade). Dry-run sends nothing: the configured values are taken as the venue's.

Which scope each setting has on the venue (ccxt 4.5): Binance USD-M leverage and margin mode per
symbol, position mode account-wide (``dualSidePosition``); Bybit linear (unified account)
leverage and position mode per symbol, margin mode account-wide (``set-margin-mode``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ccxt.async_support as ccxt

from fks_executor.audit import AuditLog
from fks_executor.config import AccountConfig, FuturesSettings
from fks_executor.errors import FuturesSettingsConflict
from fks_executor.exchange.errors import Operation
from fks_executor.exchange.margin import FuturesState
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.orders import num
from fks_executor.exchange.venue import Venue
from fks_executor.metrics import Metrics
from fks_executor.values import value

if TYPE_CHECKING:
    from fks_executor.exchange.base import ExchangeClient

__all__ = [
    "Conflict",
    "FuturesBook",
    "FuturesSettingsKeeper",
    "FuturesState",
    "VenueSettings",
    "differences",
]

LEVERAGE, MARGIN_MODE, POSITION_MODE = "leverage", "marginMode", "positionMode"

OPEN_POSITION = "OpenPositionConflict"
"""A setting differs and the symbol has an open position: nothing was sent."""
VENUE_REFUSED = "VenueRefused"
"""The venue refused the change (open orders, or positions elsewhere for an account-wide
setting)."""
NOT_VERIFIED = "NotVerified"
"""The venue accepted the change but reads back another value."""

_ALREADY_SET = frozenset({"-4046", "-4059", "110043", "110025"})
"""Binance MarginModeAlreadySet / "no need to change position side"; Bybit leverage / position
mode not modified: the value is already the wanted one."""
_REFUSED_OPEN = frozenset(
    {"-4047", "-4048", "-4067", "-4068", "-4161", "-2027", "-2028"}
    | {"110024", "110028", "110044", "3400045"}
)
"""Refusals because of open positions or orders (Binance margin type / position side /
leverage; Bybit position mode, leverage margin, account margin mode)."""
_CODE = re.compile(r"(?<![\d.])(-?\d{4,7})(?!\d)")


@value
class VenueSettings:
    """The values on the venue for one symbol (None: the venue did not say)."""

    leverage: int | None
    margin_mode: str | None
    hedged: bool


@value
class Conflict:
    """A setting the executor could not (or would not) bring to the account's spec."""

    account: str
    symbol: str
    setting: str  # leverage | marginMode | positionMode
    wanted: str
    actual: str
    reason: str  # OPEN_POSITION | VENUE_REFUSED | NOT_VERIFIED

    def describe(self) -> str:
        return (
            f"{self.setting} of {self.symbol} is {self.actual}, spec.futures wants "
            f"{self.wanted}: {_EXPLAIN[self.reason]}"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "symbol": self.symbol,
            "setting": self.setting,
            "wanted": self.wanted,
            "actual": self.actual,
            "reason": self.reason,
        }


_EXPLAIN = {
    OPEN_POSITION: "not changed under the open position (close it, or change spec.futures)",
    VENUE_REFUSED: "the venue refused the change (open orders or positions)",
    NOT_VERIFIED: "the venue accepted the change but reads back another value",
}


def _mode(hedged: bool) -> str:
    return "hedge" if hedged else "oneway"


def differences(
    settings: FuturesSettings, symbol: str, current: VenueSettings
) -> list[tuple[str, str, str]]:
    """(setting, wanted, actual) for each configured setting the venue does not have, in the
    order they are applied (position mode first: Bybit's switch-mode resets nothing else)."""
    out: list[tuple[str, str, str]] = []
    if settings.position_mode is not None and settings.position_mode != _mode(current.hedged):
        out.append((POSITION_MODE, settings.position_mode, _mode(current.hedged)))
    if settings.margin_mode is not None and settings.margin_mode != current.margin_mode:
        out.append((MARGIN_MODE, settings.margin_mode, str(current.margin_mode)))
    leverage = settings.leverage_for(symbol)
    if leverage is not None and leverage != current.leverage:
        out.append((LEVERAGE, str(leverage), str(current.leverage)))
    return out


def _codes(exc: ccxt.BaseError) -> set[str]:
    """The venue codes in a ccxt error's message (it carries the venue's JSON answer)."""
    return set(_CODE.findall(str(exc)))


class FuturesSettingsKeeper:
    """One account's futures settings, per symbol: applied once, conflicts kept until cleared."""

    def __init__(self, account: str, settings: FuturesSettings) -> None:
        self.account = account
        self.settings = settings
        self.applied: dict[str, FuturesState] = {}
        self.conflicts: dict[str, tuple[Conflict, ...]] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # concurrent first entries apply once

    def configured(self, symbol: str) -> FuturesState:
        """Dry-run: the spec's values stand for the venue's."""
        return FuturesState(
            self.settings.leverage_for(symbol), self.settings.position_mode == "hedge"
        )

    async def prepare(self, venue: Venue, market: MarketInfo) -> FuturesState:
        """The symbol's settings as the spec wants them, or FuturesSettingsConflict."""
        symbol = market.symbol
        state = self.applied.get(symbol)
        if state is not None:
            return state
        async with self._locks.setdefault(symbol, asyncio.Lock()):
            state = self.applied.get(symbol)
            return state if state is not None else await self._prepare(venue, market)

    async def _prepare(self, venue: Venue, market: MarketInfo) -> FuturesState:
        symbol = market.symbol
        current = await read_settings(venue, market)
        wanted = differences(self.settings, symbol, current)
        conflicts: list[Conflict] = []
        if wanted and await _position_open(venue, symbol):
            conflicts = [self._conflict(symbol, *w, OPEN_POSITION) for w in wanted]
        elif wanted:
            for setting, want, actual in wanted:
                if not await _apply(venue, symbol, setting, want):
                    conflicts.append(self._conflict(symbol, setting, want, actual, VENUE_REFUSED))
            if not conflicts:
                current = await read_settings(venue, market)
                conflicts = [
                    self._conflict(symbol, *w, NOT_VERIFIED)
                    for w in differences(self.settings, symbol, current)
                ]
        if conflicts:
            self.conflicts[symbol] = tuple(conflicts)
            raise FuturesSettingsConflict("; ".join(c.describe() for c in conflicts))
        self.conflicts.pop(symbol, None)
        state = FuturesState(current.leverage, current.hedged)
        self.applied[symbol] = state
        return state

    def _conflict(
        self, symbol: str, setting: str, wanted: str, actual: str, reason: str
    ) -> Conflict:
        return Conflict(self.account, symbol, setting, wanted, actual, reason)


async def read_settings(venue: Venue, market: MarketInfo) -> VenueSettings:
    api, symbol = venue.api, market.symbol

    async def read() -> VenueSettings:
        leverage = await api.fetch_leverage(symbol)
        margin = await api.fetch_margin_mode(symbol)
        if api.has.get("fetchPositionMode"):
            hedged = bool((await api.fetch_position_mode(symbol)).get("hedged"))
        else:  # Bybit: the position rows say (a flat symbol still has its zero-size rows)
            hedged = any(p.get("hedged") for p in await api.fetch_positions([symbol]))
        lev = num(leverage.get("longLeverage"))
        mode = margin.get("marginMode")
        return VenueSettings(int(lev) if lev else None, str(mode).lower() if mode else None, hedged)

    return await venue.call(Operation.READ, read)


async def _position_open(venue: Venue, symbol: str) -> bool:
    async def positions() -> Any:
        return await venue.api.fetch_positions([symbol])

    rows: Iterable[Mapping[str, Any]] = await venue.call(Operation.READ, positions)
    return any(r.get("symbol") == symbol and (num(r.get("contracts")) or 0) != 0 for r in rows)


async def _apply(venue: Venue, symbol: str, setting: str, wanted: str) -> bool:
    """Send one setting; True once the venue has it (an "already set" answer included), False
    when it refused for open positions or orders. Other errors are translated and raised."""
    api = venue.api

    async def send() -> bool:
        try:
            if setting == POSITION_MODE:
                await api.set_position_mode(wanted == "hedge", symbol)
            elif setting == MARGIN_MODE:
                await api.set_margin_mode(wanted, symbol)
            else:
                await api.set_leverage(int(wanted), symbol)
        except (ccxt.ExchangeError, ccxt.NoChange) as exc:
            codes = _codes(exc)
            if isinstance(exc, ccxt.MarginModeAlreadySet) or codes & _ALREADY_SET:
                return True
            if codes & _REFUSED_OPEN:
                return False
            raise
        return True

    # a setter is idempotent: retried on network-class failures like a read
    return await venue.call(Operation.READ, send)


class FuturesBook:
    """The keepers of every account with ``spec.futures`` (the trader's one handle), and what
    they report: the metric, the audit line, the ``/ready`` body."""

    def __init__(
        self,
        accounts: Iterable[AccountConfig],
        *,
        metrics: Metrics | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.keepers = {
            a.name: FuturesSettingsKeeper(a.name, a.futures)
            for a in accounts
            if a.futures is not None
        }
        self.metrics = metrics
        self.audit = audit

    async def prepare(
        self, account: str, client: ExchangeClient, market: MarketInfo, signal_id: str
    ) -> FuturesState:
        """The state an entry on ``market`` is planned with (no spec.futures, or spot: the
        default state, nothing read)."""
        keeper = self.keepers.get(account)
        if keeper is None or not market.contract:
            return FuturesState()
        if client.dry_run:
            return keeper.configured(market.symbol)
        before = keeper.conflicts.get(market.symbol, ())
        try:
            return await keeper.prepare(client.venue, market)
        except FuturesSettingsConflict as exc:
            self._report(before, keeper.conflicts.get(market.symbol, ()), signal_id, exc.detail)
            raise
        finally:
            if before and market.symbol not in keeper.conflicts:
                self._report(before, (), signal_id, "")

    async def hedged(self, account: str, client: ExchangeClient, market: MarketInfo) -> bool:
        """Whether a ``close`` on ``market`` closes per side: the account's spec.futures
        position mode as applied (or configured, in dry-run), else the venue's (read, never
        changed: a close needs no settings). Without spec.futures: one-way."""
        keeper = self.keepers.get(account)
        if keeper is None or not market.contract:
            return False
        if client.dry_run:
            return keeper.configured(market.symbol).hedged
        state = keeper.applied.get(market.symbol)
        if state is not None:
            return state.hedged
        return (await read_settings(client.venue, market)).hedged

    def _report(
        self, before: tuple[Conflict, ...], now: tuple[Conflict, ...], signal_id: str, detail: str
    ) -> None:
        if self.metrics is not None:
            gauge = self.metrics.futures_settings_conflicts
            for c in before:
                gauge.labels(c.account, c.symbol, c.setting).set(0)
            for c in now:
                gauge.labels(c.account, c.symbol, c.setting).set(1)
        if self.audit is not None and now:
            self.audit.record(
                "futures_settings_conflict",
                signal_id=signal_id,
                account=now[0].account,
                symbol=now[0].symbol,
                reason=now[0].reason,
                detail=detail,
            )

    def conflicts(self) -> list[dict[str, str]]:
        """Every open conflict (the ``/ready`` body's ``futures.conflicts``)."""
        return [
            c.as_dict()
            for keeper in self.keepers.values()
            for found in keeper.conflicts.values()
            for c in found
        ]
