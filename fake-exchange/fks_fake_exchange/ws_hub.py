"""The websocket connections of the Binance venue and what they are sent.

Events come from comparing the exchange with what was last published (:meth:`Hub.publish`,
called after every request that reached the exchange or the control API): an order that appeared,
filled or left the book, a balance, wallet or position that changed, a price that moved. Whatever
changed the state (a REST order, a ``order.place`` over the WebSocket API, a price set through
the control API filling a resting order, a control-API balance set), the subscribers hear of it
before the request that changed it is answered. Only :meth:`Exchange.reset` is silent: it drops
every connection instead (:meth:`Hub.close_all`).

Each connection has a queue and one writer task, so events keep their order and the ``ws_latency``
delay (``POST /_fake/ws/latency``) holds back a connection's messages without holding the request.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from aiohttp import web

from fks_fake_exchange import ws_bybit_feed, ws_diff, ws_events
from fks_fake_exchange.futures import FuturesEngine, FuturesFill, FuturesOrder
from fks_fake_exchange.markets import Market
from fks_fake_exchange.orders import Fill, SpotOrder
from fks_fake_exchange.spot import SpotEngine
from fks_fake_exchange.state import Exchange

Account = Literal["spot", "futures"]
SPOT_USER = "spot@user"
FUTURES_USER = "futures@user"


def market_topic(account: Account, market_id: str, channel: str) -> str:
    """The topic of a market stream (``btcusdt@ticker``) on one account's servers."""
    return f"{account}:{market_id.lower()}@{channel}"


@dataclass(eq=False)  # one per connection, compared (and hashed) by identity
class Stream:
    """One websocket connection: the topics it follows and its outgoing queue."""

    ws: web.WebSocketResponse
    topics: set[str] = field(default_factory=set)
    subscription_id: int | None = None
    """Set once ``userDataStream.subscribe.signature`` succeeded on a WebSocket API connection:
    user events then come wrapped as ``{"subscriptionId": n, "event": {...}}``."""
    queue: asyncio.Queue[tuple[float, str]] = field(default_factory=asyncio.Queue)
    """(``time.monotonic()`` when it was queued, the message)."""

    def send(self, payload: object) -> None:
        self.queue.put_nowait((time.monotonic(), json.dumps(payload, separators=(",", ":"))))

    def send_event(self, event: dict[str, object]) -> None:
        if self.subscription_id is not None:
            self.send({"subscriptionId": self.subscription_id, "event": event})
        else:
            self.send(event)


@dataclass
class _Seen:
    """What was last published (engines by identity: a reset replaces them). Orders: the state
    of those open then, and how many there were (see :mod:`fks_fake_exchange.ws_diff`)."""

    spot: SpotEngine
    futures: FuturesEngine
    spot_orders: dict[int, tuple[str, Decimal, Decimal]]
    spot_count: int
    spot_trades: int
    spot_balances: dict[str, tuple[Decimal, Decimal]]
    futures_orders: dict[int, tuple[str, Decimal]]
    futures_count: int
    futures_trades: int
    wallet: dict[str, Decimal]
    positions: dict[str, tuple[Decimal, Decimal]]
    prices: dict[str, Decimal]


def _spot_state(order: SpotOrder) -> tuple[str, Decimal, Decimal]:
    return (order.status, order.executed_qty, order.cumm_quote_qty)


def _futures_state(order: FuturesOrder) -> tuple[str, Decimal]:
    return (order.status, order.executed_qty)


def _snapshot(
    ex: Exchange, spot_orders: list[SpotOrder], futures_orders: list[FuturesOrder]
) -> _Seen:
    """The state to compare with next; ``*_orders``: every order that may still change."""
    spot, futures = ex.spot, ex.futures
    return _Seen(
        spot=spot,
        futures=futures,
        spot_orders=ws_diff.open_states(
            spot_orders, lambda o: o.order_id, _spot_state, lambda o: o.is_open
        ),
        spot_count=len(spot.orders),
        spot_trades=len(spot.trades),
        spot_balances={a: (b.free, b.locked) for a, b in spot.balances.items()},
        futures_orders=ws_diff.open_states(
            futures_orders, lambda o: o.order_id, _futures_state, lambda o: o.is_open
        ),
        futures_count=len(futures.orders),
        futures_trades=len(futures.trades),
        wallet=dict(futures.wallet),
        positions={s: (p.qty, p.entry_price) for s, p in futures.positions.items()},
        prices=dict(ex.prices),
    )


def _full_snapshot(ex: Exchange) -> _Seen:
    return _snapshot(ex, list(ex.spot.orders.values()), list(ex.futures.orders.values()))


def _changed(
    before: dict[str, tuple[Decimal, ...]], after: dict[str, tuple[Decimal, ...]]
) -> set[str]:
    return {k for k, v in after.items() if before.get(k) != v}


class Hub:
    """Every open websocket connection of the server, and the publishing of state changes."""

    def __init__(self) -> None:
        self.streams: set[Stream] = set()
        self.listen_keys: dict[str, Account] = {}
        self.latency_ms = 0
        self._seen: _Seen | None = None
        self._bybit_seen: ws_bybit_feed.Seen | None = None
        self._book_update_id = 1

    # --- connections ---------------------------------------------------------------------------

    def add(self, stream: Stream, ex: Exchange) -> None:
        if not self.streams:  # the baseline the first subscriber's events are relative to
            self._seen = _full_snapshot(ex)
            self._bybit_seen = ws_bybit_feed.snapshot(ex) if ex.bybit is not None else None
        self.streams.add(stream)

    def remove(self, stream: Stream) -> None:
        self.streams.discard(stream)
        if not self.streams:
            self._seen = self._bybit_seen = None

    async def close_all(self) -> int:
        """Close every connection (clients see the socket end and reconnect); how many."""
        streams = list(self.streams)
        for stream in streams:
            await stream.ws.close(code=1001, message=b"closed by the fake exchange")
        return len(streams)

    async def reset(self) -> None:
        """Back to no connections, no listen keys, no latency (``POST /_fake/reset``)."""
        await self.close_all()
        self.listen_keys.clear()
        self.latency_ms = 0

    def view(self) -> dict[str, object]:
        return {
            "connections": len(self.streams),
            "topics": sorted({t for s in self.streams for t in s.topics}),
            "listenKeys": len(self.listen_keys),
            "latencyMs": self.latency_ms,
        }

    def new_listen_key(self, account: Account) -> str:
        key = secrets.token_urlsafe(48)[:60]
        self.listen_keys[key] = account
        return key

    def next_book_id(self) -> int:
        self._book_update_id += 1
        return self._book_update_id

    # --- publishing ----------------------------------------------------------------------------

    def publish(self, ex: Exchange) -> None:
        """Send every subscriber the events of what changed since the last call."""
        if not self.streams:
            self._seen = self._bybit_seen = None
            return
        if ex.bybit is not None:
            self._publish_bybit(ex)
            return
        seen = self._seen
        if seen is None or seen.spot is not ex.spot or seen.futures is not ex.futures:
            self._seen = _full_snapshot(ex)
            return  # a reset: nothing to compare with
        spot = ws_diff.candidates(ex.spot.orders, seen.spot_orders, seen.spot_count)
        futures = ws_diff.candidates(ex.futures.orders, seen.futures_orders, seen.futures_count)
        self._seen = _snapshot(ex, spot, futures)
        now = ex.now()
        self._publish_spot(ex, seen, spot, now)
        self._publish_futures(ex, seen, futures, now)
        self._publish_prices(ex, seen, now)

    def _publish_bybit(self, ex: Exchange) -> None:
        seen = self._bybit_seen
        self._bybit_seen = ws_bybit_feed.snapshot(ex, seen)
        if seen is None or seen.account is not ex.bybit:
            return  # a reset: nothing to compare with
        for topic, message in ws_bybit_feed.changes(ex, seen, ex.now()):
            for stream in self.streams:
                if topic in stream.topics:
                    stream.send(message)

    def _to(self, topic: str, events: list[dict[str, object]]) -> None:
        if not events:
            return
        for stream in self.streams:
            if topic in stream.topics:
                for event in events:
                    stream.send_event(event)

    def _publish_spot(self, ex: Exchange, seen: _Seen, orders: list[SpotOrder], now: int) -> None:
        new_fills: dict[int, list[Fill]] = {}
        for fill in ex.spot.trades[seen.spot_trades :]:
            new_fills.setdefault(fill.order_id, []).append(fill)
        events: list[dict[str, object]] = []
        for order in orders:
            before = seen.spot_orders.get(order.order_id)
            if before != _spot_state(order):
                fills = new_fills.get(order.order_id, [])
                events += ws_events.spot_order_events(order, before, fills, now)
        balances = {a: (b.free, b.locked) for a, b in ex.spot.balances.items()}
        assets = _changed(dict(seen.spot_balances), dict(balances))
        if assets:
            events.append(ws_events.account_position(ex.spot.balances, assets, now))
        self._to(SPOT_USER, events)

    def _publish_futures(
        self, ex: Exchange, seen: _Seen, orders: list[FuturesOrder], now: int
    ) -> None:
        engine = ex.futures
        new_fills: dict[int, list[FuturesFill]] = {}
        for fill in engine.trades[seen.futures_trades :]:
            new_fills.setdefault(fill.order_id, []).append(fill)
        events: list[dict[str, object]] = []
        for order in orders:
            before = seen.futures_orders.get(order.order_id)
            if before != _futures_state(order):
                fills = new_fills.get(order.order_id, [])
                events += ws_events.futures_order_events(order, before, fills, now)
        assets = {a for a, v in engine.wallet.items() if seen.wallet.get(a) != v}
        symbols = {
            s
            for s, p in engine.positions.items()
            if seen.positions.get(s) != (p.qty, p.entry_price)
        }
        if assets or symbols:
            reason = "ORDER" if new_fills else "DEPOSIT"
            events.append(ws_events.account_update(engine, assets, symbols, now, reason))
        self._to(FUTURES_USER, events)

    def _publish_prices(self, ex: Exchange, seen: _Seen, now: int) -> None:
        for market_id, price in ex.prices.items():
            if seen.prices.get(market_id) != price:
                self.send_tickers(ex, market_id, now)

    def send_tickers(
        self, ex: Exchange, market_id: str, now: int, only: Stream | None = None
    ) -> None:
        """The ticker events of one market to its subscribers (or to ``only``)."""
        price = ex.price(market_id)
        targets = [only] if only is not None else list(self.streams)
        accounts: tuple[tuple[Account, dict[str, Market]], ...] = (
            ("spot", ex.spot_markets),
            ("futures", ex.futures_markets),
        )
        for account, markets in accounts:
            market = markets.get(market_id)
            if market is None:
                continue
            for stream in targets:
                if market_topic(account, market_id, "ticker") in stream.topics:
                    stream.send(ws_events.ticker(market, price, now))
                if market_topic(account, market_id, "miniTicker") in stream.topics:
                    stream.send(ws_events.mini_ticker(market, price, now))
                if market_topic(account, market_id, "bookTicker") in stream.topics:
                    stream.send(ws_events.book_ticker(market, price, now, self.next_book_id()))

    # --- writing -------------------------------------------------------------------------------

    async def write(self, stream: Stream) -> None:
        """The writer task of one connection: its queue, in order, each message ``latency_ms``
        after it was queued (a burst is delayed once, not once per message)."""
        while True:
            queued, text = await stream.queue.get()
            wait = queued + self.latency_ms / 1000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await stream.ws.send_str(text)
            except ConnectionError:
                return


HUB = web.AppKey("ws_hub", Hub)
