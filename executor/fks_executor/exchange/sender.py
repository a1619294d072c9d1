"""The order protocol: at most one order per client order id, and none lost to a transient fault.

One :class:`OrderSender` per account; every order request (an entry, a leg, an OCO list, a
close) goes through :meth:`OrderSender.send`, in these steps:

1. **claim** (:meth:`~OrderSender._claimed`): the signal's claim still holds (the store's
   fence, right before the request leaves: with Redis, this replica's lease);
2. **send** with the deterministic client order id, at most once per attempt, never retried
   blindly;
3. **resolve** an unknown outcome (:meth:`~OrderSender.settled_lookup`): when the request
   failed in a way that leaves the order's fate unknown (a timeout, a dropped connection, a
   5xx, 429/418, an unreadable answer), the order is looked up by its client order id: found
   -> that is the order; absent -> looked up again once the request can no longer land (the
   venue refuses it as late: ``recvWindow`` + 1 s); absent then -> it was never placed;
4. **send again** only when the order is proven absent, with the same client order id, with
   exponential backoff and jitter (tenacity), until the venue accepts or refuses it, or until
   the signal's execution deadline passes: then :class:`~.errors.OrderLost` (a lost trade,
   counted and audited by the trader). Lookups that keep failing are tried again the same way;
   past the deadline the outcome stays unknown (:class:`~.errors.OrderOutcomeUnknown`) and
   nothing more is sent for the signal until a later attempt has looked it up.

A refusal by the venue (funds, filters, credentials) is final at any step.

How an order is looked up by its client order id, and whether the create answer carries its
fills, come from the venue's quirks (``quirks.py``): Binance answers with the fills and finds
an order by ``origClientOrderId``; Bybit answers with ids only and finds an order by
``orderLinkId`` among open, then closed orders. :meth:`OrderSender.confirm` fetches an order
whose answer lacks its status or fills (bounded), so ``executed`` reports what the venue has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from fks_executor.errors import CircuitOpen, ExchangeUnavailable, ExecutorError
from fks_executor.exchange.errors import (
    Operation,
    OrderLost,
    OrderOutcomeUnknown,
    is_temporary,
)
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.orders import fees_of, num
from fks_executor.exchange.plan import OrderLeg
from fks_executor.exchange.quirks import Lookup, market_kind
from fks_executor.exchange.retry import retrying
from fks_executor.exchange.venue import Venue
from fks_executor.fence import check_fence

__all__ = ["CONFIRM_WAITS", "OrderSender", "Sent"]

CONFIRM_WAITS = (0.0, 0.2, 0.5, 1.0)
"""Waits before each lookup that confirms an order whose answer lacked its fills (a market
order the venue has not matched yet is looked at again; about 1.7 s at most)."""

Raw = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Sent:
    """What :meth:`OrderSender.send` ended with."""

    raw: Raw
    """ccxt's order structure (the answer, or the order found by lookup)."""
    found: bool
    """The order was found by its client order id (a lost answer), not read from an answer."""
    requests: int
    """Order requests sent for it by this call (0: found before sending)."""


class _NotPlaced(ExchangeUnavailable):
    """One request failed and the order is proven absent: sent again while time is left."""


class _DeadlinePassed(Exception):
    """No new request may start: the execution deadline has passed."""


@dataclass(slots=True)
class _Progress:
    look: bool
    """Look the order up before sending (for a request that may have gone out at ``since``)."""
    since: float | None
    requests: int = 0
    last_error: ExecutorError | None = None


class OrderSender:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    # ------------------------------------------------------------------ lookups

    async def lookup(
        self, market: MarketInfo, leg: OrderLeg, *, closed_first: bool = False
    ) -> Raw | None:
        """The venue's order with the leg's client order id, or None (retried on network
        failures; other failures raise ccxt's error, untranslated). ``closed_first``: where
        orders are listed (open, then closed), an order expected to be done (a filled market
        order being confirmed) is looked for among closed orders first: one request when it
        is there, else open, then closed again (it may have closed in between)."""
        quirks = self.venue.quirks
        api = self.venue.api
        cid = leg.client_order_id
        conditional: Mapping[str, Any] = {}
        if leg.trigger_price is not None:
            conditional = quirks.conditional_params.get(market_kind(market.contract), {})
        if quirks.lookup is Lookup.CLIENT_ORDER_ID:

            async def by_id() -> Any:
                try:
                    return await api.fetch_order_with_client_order_id(
                        cid, market.symbol, dict(conditional)
                    )
                except ccxt.OrderNotFound:
                    return None

            raw = await retrying(self.venue.retry, by_id)
            return raw if isinstance(raw, Mapping) else None

        query = {quirks.client_id_param: cid}
        open_listing = (api.fetch_open_orders, {**query, **conditional})
        closed_listing = (api.fetch_canceled_and_closed_orders, query)
        listings = (
            (closed_listing, open_listing, closed_listing)
            if closed_first
            else (open_listing, closed_listing)
        )
        for listing, params in listings:

            async def listed(listing: Any = listing, params: Mapping[str, Any] = params) -> Any:
                return await listing(market.symbol, None, None, dict(params))

            for raw in await retrying(self.venue.retry, listed) or []:
                if isinstance(raw, Mapping) and raw.get("clientOrderId") == cid:
                    return raw
        return None

    async def find(
        self, market: MarketInfo, leg: OrderLeg, *, closed_first: bool = False
    ) -> Raw | None:
        """:meth:`lookup` through the breaker, errors translated."""

        async def lookup() -> Raw | None:
            return await self.lookup(market, leg, closed_first=closed_first)

        return await self.venue.call(Operation.LOOKUP, lookup, retry=False)

    async def settled_lookup(
        self, market: MarketInfo, leg: OrderLeg, since: float | None, *, cause: ExecutorError | None
    ) -> Raw | None:
        """Look the order up; if absent, again once a request sent at ``since`` (None: now)
        can no longer land. Lookups that keep failing raise ``OrderOutcomeUnknown``."""
        venue = self.venue
        try:
            found = await self.lookup(market, leg)
            if found is None:
                start = since if since is not None else venue.clock()
                wait = start + venue.settle_seconds - venue.clock()
                if wait > 0:
                    await venue.sleep(wait)
                    found = await self.lookup(market, leg)
        except ccxt.BaseError as exc:
            lookup_error = venue.translate(exc, Operation.LOOKUP)
            first = f"the request failed ({cause.detail}) and " if cause else ""
            raise OrderOutcomeUnknown(
                f"order {leg.client_order_id} on {market.symbol}: {first}looking it up failed "
                f"({lookup_error.detail}); it is looked up again before anything is re-sent",
                client_order_id=leg.client_order_id,
                symbol=market.symbol,
            ) from exc
        return found

    # ------------------------------------------------------------------ sending

    async def send(
        self,
        market: MarketInfo,
        probe: OrderLeg,
        request: Callable[[], Awaitable[Any]],
        *,
        look_first: bool = False,
        attempted_at: float | None = None,
        deadline: float | None = None,
    ) -> Sent:
        """Send one order request (``request``) under the protocol of the module docstring.

        ``probe`` is the order whose client order id tells whether the request went through.
        ``look_first``: an earlier attempt (at ``attempted_at``) may have sent it; it is
        looked up before anything is sent. ``deadline`` (the venue clock's time): no request
        starts after it; None sends at most one request."""
        progress = _Progress(look=look_first, since=attempted_at)
        venue = self.venue

        def stop(state: RetryCallState) -> bool:
            del state
            return deadline is None or venue.clock() >= deadline

        policy = venue.retry
        backoff = wait_exponential_jitter(
            multiplier=policy.initial_wait, max=policy.max_wait, jitter=policy.jitter
        )

        def wait(state: RetryCallState) -> float:
            left = (deadline or 0.0) - venue.clock()
            return max(0.0, min(backoff(state), left))

        retry = AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type((_NotPlaced, OrderOutcomeUnknown, CircuitOpen)),
            sleep=venue.sleep,
            reraise=True,
        )
        try:
            async for attempt in retry:
                with attempt:
                    if progress.requests and not progress.look and _past(venue, deadline):
                        raise _DeadlinePassed
                    return await venue.breaker.call(
                        lambda: self._attempt(market, probe, request, progress)
                    )
        except CircuitOpen as exc:
            if progress.look:  # a request went out and its fate is still open
                raise self._unknown(market, probe, progress, exc.detail) from exc
            if progress.requests:
                raise self._lost(market, probe, progress, deadline) from exc
            raise
        except (_NotPlaced, _DeadlinePassed) as exc:
            raise self._lost(market, probe, progress, deadline) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _lost(
        self, market: MarketInfo, probe: OrderLeg, progress: _Progress, deadline: float | None
    ) -> OrderLost:
        venue = self.venue
        error = progress.last_error
        why = "not sent again" if deadline is None else "the execution deadline passed"
        return OrderLost(
            f"order {probe.client_order_id} on {market.symbol} was not placed: "
            f"{progress.requests} request(s) failed before {venue.exchange_id} took it "
            f"(last: {error.detail if error else 'none'}), each proven absent by client "
            f"order id {venue.settle_seconds:g}s after it was sent; {why}",
            requests=progress.requests,
        )

    @staticmethod
    def _unknown(
        market: MarketInfo, probe: OrderLeg, progress: _Progress, why: str
    ) -> OrderOutcomeUnknown:
        cause = progress.last_error.detail if progress.last_error else "an earlier attempt"
        return OrderOutcomeUnknown(
            f"order {probe.client_order_id} on {market.symbol}: the request failed ({cause}) "
            f"and looking it up failed ({why}); it is looked up again before anything is "
            "re-sent",
            client_order_id=probe.client_order_id,
            symbol=market.symbol,
        )

    async def _attempt(
        self,
        market: MarketInfo,
        probe: OrderLeg,
        request: Callable[[], Awaitable[Any]],
        progress: _Progress,
    ) -> Sent:
        if progress.look:
            found = await self.settled_lookup(
                market, probe, progress.since, cause=progress.last_error
            )
            progress.look = False
            if found is not None:
                return Sent(found, True, progress.requests)
        self._claimed()
        progress.requests += 1
        sent_at = self.venue.clock()
        try:
            answer = await request()
        except ccxt.BaseError as exc:
            error = self.venue.translate(exc, Operation.ORDER)
            if not is_temporary(exc):
                raise error from exc  # the venue (or ccxt, before sending) refused it
            return await self._resolve(market, probe, progress, error, sent_at, exc)
        except Exception as exc:
            # Not ccxt's: an answer ccxt could not read, or a failure after the request left.
            # The order may exist, so it is settled by lookup like a network failure (caught
            # broadly on purpose: treating it as "not sent" could send a second order).
            error = self.venue.translate(exc, Operation.ORDER)
            return await self._resolve(market, probe, progress, error, sent_at, exc)
        return Sent(answer if isinstance(answer, Mapping) else {}, False, progress.requests)

    async def _resolve(
        self,
        market: MarketInfo,
        probe: OrderLeg,
        progress: _Progress,
        error: ExecutorError,
        sent_at: float,
        exc: BaseException,
    ) -> Sent:
        """After a request whose fate is unknown: the order found, or ``_NotPlaced``."""
        progress.last_error = error
        progress.look, progress.since = True, sent_at
        found = await self.settled_lookup(market, probe, sent_at, cause=error)
        progress.look = False
        if found is None:
            raise _NotPlaced(
                f"order {probe.client_order_id} on {market.symbol} was not placed: the request "
                f"failed ({error.detail}) and no order with this client order id exists "
                f"{self.venue.settle_seconds:g}s later"
            ) from exc
        return Sent(found, True, progress.requests)

    @staticmethod
    def _claimed() -> None:
        """The last word on whether this process may still send for the signal (the
        store's fence; raises ``LeaseLost``)."""
        check_fence()

    # ------------------------------------------------------------------ confirmation

    async def confirm(self, market: MarketInfo, leg: OrderLeg, raw: Raw) -> Raw:
        """The order as the venue has it: when ``raw`` (a create answer, or an order found by
        lookup) lacks its status or fills, looked up by client order id, a few times while a
        market order is still unmatched; when it filled but reports no fee (Binance USD-M
        answers, Binance order queries), its fees are read from its trades. A lookup that
        fails leaves what is known as it is (the order exists either way)."""
        latest = raw
        expect_done = leg.type == "market" and leg.trigger_price is None
        if _lacks_fills(raw, leg, self.venue.quirks.answer_has_fills):
            for pause in CONFIRM_WAITS:
                if pause:
                    await self.venue.sleep(pause)
                try:
                    found = await self.find(market, leg, closed_first=expect_done)
                except ExchangeUnavailable:
                    break
                if found is not None:
                    latest = found
                    if not _lacks_fills(found, leg, True):
                        break
        return await self._with_fees(market, latest)

    async def _with_fees(self, market: MarketInfo, raw: Raw) -> Raw:
        order_id = raw.get("id")
        if not num(raw.get("filled")) or fees_of(raw) or not order_id:
            return raw
        api = self.venue.api

        async def trades() -> Any:
            return await api.fetch_my_trades(market.symbol, None, None, {"orderId": order_id})

        try:
            listed = await self.venue.call(Operation.LOOKUP, trades)
        except ExchangeUnavailable:
            return raw
        fees = [
            t["fee"]
            for t in listed or []
            if isinstance(t, Mapping) and str(t.get("order")) == str(order_id) and t.get("fee")
        ]
        return {**raw, "fees": fees} if fees else raw


def _lacks_fills(raw: Raw, leg: OrderLeg, answer_has_fills: bool) -> bool:
    status = raw.get("status")
    if not answer_has_fills or status is None:
        return True
    unmatched = status == "open" and not num(raw.get("filled"))
    return leg.type == "market" and leg.trigger_price is None and unmatched


def _past(venue: Venue, deadline: float | None) -> bool:
    return deadline is None or venue.clock() >= deadline
