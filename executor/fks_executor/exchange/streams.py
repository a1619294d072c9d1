"""Warm account state: what a sizing or cap decision needs, kept from the venue's websocket
streams (ccxt.pro) instead of asked for per order, with REST as the fallback.

One :class:`AccountStreams` per live account (``execution.warmState``, docs/executor.md "Hot
path"). It follows, each in its own task:

- the account's balance (``watch_balance``: free and total per currency; on spot the base
  currency's total is the position);
- on contract accounts, its positions (``watch_positions``), where ccxt has them;
- the ticker of every symbol an order was planned for (``watch_ticker``, from the first order
  on that symbol; that first order reads the ticker by REST).

Each value is *confirmed* at a time: by a REST snapshot (the time the request started) or by
a stream message (the time it arrived). A decision uses a value only while its confirmation
is younger than ``max_age``; anything older, unknown, or behind one of the account's own
orders (below) is read by REST instead, and that read confirms it again. The state is
confirmed again:

- every ``max_age / 2`` seconds by a REST snapshot (so a quiet but healthy stream stays usable,
  and a stalled one ages out within ``max_age``);
- after a reconnect: a stream that fails forgets its values until the snapshot taken when
  it is watched again;
- after the account's own orders: the balance and positions are not used after an order is
  answered until a stream message stamped by the venue at or after the order's time has been
  applied (it may arrive before the answer), or a REST snapshot started after the answer;
  ``own_order_grace`` seconds later a REST snapshot is taken if the stream has not confirmed.

Nothing here raises into the order flow: a value that is not warm is ``None`` and the caller
reads it by REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import ccxt.async_support as ccxt

from fks_executor.errors import ExecutorError
from fks_executor.exchange.orders import num
from fks_executor.exchange.warm_values import (
    Balance,
    Pending,
    Positions,
    StreamSettings,
    numbers,
    ticker_price,
)

__all__ = ["AccountStreams", "StreamSettings"]

log = logging.getLogger(__name__)

_RETRY_SECONDS = 1.0
_MAX_RETRY_SECONDS = 15.0


Snapshot = Callable[[], Awaitable[Any]]


class AccountStreams:
    """The warm state of one account. ``api`` is a ccxt.pro instance (it watches and reads);
    ``read`` runs one REST read through the account's breaker, retries and translation."""

    def __init__(
        self,
        api: Any,
        *,
        contract: bool,
        settings: StreamSettings,
        read: Callable[[Snapshot], Awaitable[Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.contract = contract
        self.settings = settings
        self._read = read
        self._clock = clock
        self._balance = Balance()
        self._positions = Positions()
        self._tickers: dict[str, tuple[float, float]] = {}  # symbol -> (price, at)
        self._pending: Pending | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._watch_positions = contract and bool(api.has.get("watchPositions"))

    @staticmethod
    def supported(api: Any) -> bool:
        """Whether ccxt.pro can keep this account warm (a pro instance with the watches)."""
        has = getattr(api, "has", {})
        return bool(has.get("watchBalance") and has.get("watchTicker"))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._spawn("balance", self._follow_balance())
        if self._watch_positions:
            self._spawn("positions", self._follow_positions())
        self._spawn("refresh", self._refresh_every())

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        self._tasks[name] = asyncio.ensure_future(work)

    # ------------------------------------------------------------------ reads (hot path)

    def _fresh(self, at: float | None) -> bool:
        return at is not None and self._clock() - at <= self.settings.max_age

    def _settled(self, venue_ts: int, at: float | None) -> bool:
        """No own order is waiting for a confirmation of this state."""
        pending = self._pending
        if pending is None:
            return True
        if at is not None and at > pending.at:
            return True  # a snapshot or message after the answer
        return pending.venue_ts is not None and venue_ts >= pending.venue_ts

    def price(self, symbol: str) -> float | None:
        """The warm last price of ``symbol`` (None: read it by REST); starts following it."""
        if f"ticker:{symbol}" not in self._tasks:
            self._spawn(f"ticker:{symbol}", self._follow_ticker(symbol))
            return None
        found = self._tickers.get(symbol)
        return found[0] if found and self._fresh(found[1]) else None

    def balance(self) -> tuple[Mapping[str, float], Mapping[str, float]] | None:
        """(free, total) per currency, or None when not warm."""
        b = self._balance
        if not self._fresh(b.at) or not self._settled(b.venue_ts, b.at):
            return None
        return b.free, b.total

    def position(self, symbol: str) -> float | None:
        """The signed number of contracts of ``symbol`` (None: not warm)."""
        if not self._watch_positions or not self._positions_warm():
            return None
        return sum(v for (s, _), v in self._positions.by_key.items() if s == symbol)

    def account_state(self, symbol: str, base: str, quote: str) -> tuple[float, float] | None:
        """(free quote, signed position: spot base total / contracts) if all of it is warm."""
        balance = self.balance()
        if balance is None:
            return None
        free, total = balance
        if quote not in free:
            return None
        if not self.contract:
            return free[quote], total.get(base, 0.0)
        contracts = self.position(symbol)
        return None if contracts is None else (free[quote], contracts)

    def position_only(self, symbol: str, base: str) -> float | None:
        if not self.contract:
            balance = self.balance()
            return None if balance is None else balance[1].get(base, 0.0)
        return self.position(symbol)

    # ------------------------------------------------------------------ own orders

    def after_own_order(self, venue_ts: int | None) -> None:
        """Orders of this account were answered, the latest stamped ``venue_ts`` by the venue
        (None: unknown, e.g. a failed request whose order may exist)."""
        self._pending = Pending(self._clock(), venue_ts)
        if self._settled(self._balance.venue_ts, self._balance.at) and (
            not self._watch_positions or self._settled(self._positions.venue_ts, self._positions.at)
        ):
            self._pending = None
            return
        if "grace" not in self._tasks or self._tasks["grace"].done():
            self._spawn("grace", self._confirm_after_grace())

    async def _confirm_after_grace(self) -> None:
        await asyncio.sleep(self.settings.own_order_grace)
        if self.balance() is None:
            await self._snapshot_balance()
        if self._watch_positions and not self._positions_warm():
            await self._snapshot_positions()

    def _positions_warm(self) -> bool:
        p = self._positions
        return self._fresh(p.at) and self._settled(p.venue_ts, p.at)

    # ------------------------------------------------------------------ snapshots (REST)

    def confirm_balance(self, raw: Mapping[str, Any], at: float) -> None:
        """Apply a REST balance read that started at ``at`` (local clock); a stream message
        applied since is newer and kept."""
        b = self._balance
        if b.stream_at is not None and b.stream_at > at:
            return
        b.free = numbers(raw.get("free"))
        b.total = numbers(raw.get("total"))
        b.at, b.venue_ts = at, 0
        self._clear_pending(at)

    def confirm_positions(self, raw: Iterable[Any], at: float, symbols: Iterable[str] = ()) -> None:
        """Apply a REST positions read (of ``symbols``, or all when empty) started at ``at``."""
        p = self._positions
        if p.stream_at is not None and p.stream_at > at:
            return
        wanted = set(symbols)
        if wanted:
            p.by_key = {k: v for k, v in p.by_key.items() if k[0] not in wanted}
        else:
            p.by_key = {}
        self._apply_positions(raw)
        if not wanted:
            p.at, p.venue_ts = at, 0
            self._clear_pending(at)

    def confirm_price(self, symbol: str, price: float, at: float) -> None:
        self._tickers[symbol] = (price, at)

    def now(self) -> float:
        return self._clock()

    def _clear_pending(self, at: float) -> None:
        pending = self._pending
        if pending is None or at <= pending.at:
            return
        balance_ok = self._settled(self._balance.venue_ts, self._balance.at)
        positions_ok = not self._watch_positions or self._settled(
            self._positions.venue_ts, self._positions.at
        )
        if balance_ok and positions_ok:
            self._pending = None

    async def _snapshot_balance(self) -> None:
        at = self._clock()
        try:
            raw = await self._read(self.api.fetch_balance)
        except ExecutorError as exc:  # translated by the read; the next read tries again
            log.info("balance snapshot failed: %s", exc.detail)
            return
        if isinstance(raw, Mapping):
            self.confirm_balance(raw, at)

    async def _snapshot_positions(self) -> None:
        at = self._clock()
        try:
            raw = await self._read(self.api.fetch_positions)
        except ExecutorError as exc:
            log.info("positions snapshot failed: %s", exc.detail)
            return
        if isinstance(raw, list):
            self.confirm_positions(raw, at)

    async def _snapshot_ticker(self, symbol: str) -> None:
        at = self._clock()

        async def ticker() -> Any:
            return await self.api.fetch_ticker(symbol)

        try:
            raw = await self._read(ticker)
        except ExecutorError as exc:
            log.info("ticker snapshot of %s failed: %s", symbol, exc.detail)
            return
        price = ticker_price(raw) if isinstance(raw, Mapping) else None
        if price is not None:
            self.confirm_price(symbol, price, at)

    async def _refresh_every(self) -> None:
        while True:
            await asyncio.sleep(max(self.settings.max_age / 2, 0.05))
            await self._snapshot_balance()
            if self._watch_positions:
                await self._snapshot_positions()
            for symbol in list(self._tickers):
                await self._snapshot_ticker(symbol)

    # ------------------------------------------------------------------ streams

    async def _follow(
        self,
        what: str,
        watch: Callable[[], Awaitable[Any]],
        apply: Callable[[Any], None],
        snapshot: Callable[[], Awaitable[None]],
        forget: Callable[[], None],
    ) -> None:
        """Watch, apply, repeat; on a failure forget the value, wait, watch again and take a
        snapshot once watching (the reconnect)."""
        wait = _RETRY_SECONDS
        while True:
            pending = asyncio.ensure_future(watch())
            snapped = asyncio.ensure_future(snapshot())
            try:
                while True:
                    message = await pending
                    apply(message)
                    wait = _RETRY_SECONDS
                    pending = asyncio.ensure_future(watch())
            except ccxt.BaseError as exc:
                log.info("%s stream failed (%s); reconnecting", what, type(exc).__name__)
            finally:
                if not pending.done():
                    pending.cancel()
                await asyncio.gather(snapped, return_exceptions=True)
            forget()
            self._new_listen_keys()
            await asyncio.sleep(wait)
            wait = min(wait * 2, _MAX_RETRY_SECONDS)

    def _new_listen_keys(self) -> None:
        """After a failure, a listen key (Binance's user data streams) is asked for again
        on the next watch: the old one may have expired or been revoked, and ccxt only asks
        for a new one once its keep-alive period has passed."""
        for options in self.api.options.values():
            if isinstance(options, dict) and "listenKey" in options:
                options["lastAuthenticatedTime"] = 0

    async def _follow_balance(self) -> None:
        def forget() -> None:
            self._balance = Balance()

        await self._follow(
            "balance", self.api.watch_balance, self._apply_balance, self._snapshot_balance, forget
        )

    async def _follow_positions(self) -> None:
        def forget() -> None:
            self._positions = Positions()

        async def watch() -> Any:
            return await self.api.watch_positions()

        await self._follow(
            "positions", watch, self._apply_stream_positions, self._snapshot_positions, forget
        )

    async def _follow_ticker(self, symbol: str) -> None:
        def apply(raw: Any) -> None:
            price = ticker_price(raw) if isinstance(raw, Mapping) else None
            if price is not None:
                self.confirm_price(symbol, price, self._clock())

        def forget() -> None:
            self._tickers.pop(symbol, None)

        async def watch() -> Any:
            return await self.api.watch_ticker(symbol)

        async def snapshot() -> None:
            await self._snapshot_ticker(symbol)

        await self._follow(f"{symbol} ticker", watch, apply, snapshot, forget)

    def _apply_balance(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            return
        b = self._balance
        if b.at is None:
            return  # no snapshot yet: a partial stream update is not the whole balance
        free, total = raw.get("free") or {}, raw.get("total") or {}
        for currency in set(free) | set(total):
            f, t = num(free.get(currency)), num(total.get(currency))
            if f is None:
                b.free.pop(currency, None)  # the stream does not say (read by REST)
            else:
                b.free[currency] = f
            if t is not None:
                b.total[currency] = t
        b.at = b.stream_at = self._clock()
        b.venue_ts = max(b.venue_ts, int(num(raw.get("timestamp")) or 0))
        self._clear_pending(b.at)

    def _apply_stream_positions(self, raw: Any) -> None:
        p = self._positions
        if p.at is None or not isinstance(raw, list):
            return
        self._apply_positions(raw)
        stamps = [int(num(x.get("timestamp")) or 0) for x in raw if isinstance(x, Mapping)]
        p.at = p.stream_at = self._clock()
        p.venue_ts = max([p.venue_ts, *stamps])
        self._clear_pending(p.at)

    def _apply_positions(self, raw: Iterable[Any]) -> None:
        for pos in raw:
            if not isinstance(pos, Mapping) or not pos.get("symbol"):
                continue
            contracts = abs(num(pos.get("contracts")) or 0.0)
            sign = -1.0 if pos.get("side") == "short" else 1.0
            leg = str(pos.get("side")) if pos.get("hedged") else "one-way"
            self._positions.by_key[(str(pos["symbol"]), leg)] = sign * contracts
