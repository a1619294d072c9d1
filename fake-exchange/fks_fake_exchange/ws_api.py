"""Binance's WebSocket API (spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1``): one JSON request, one
JSON answer ``{"id", "status", "result" | "error"}``.

Served methods: ``ping``, ``time``, ``order.place``, ``order.test``, ``order.cancel`` (both
accounts),
``userDataStream.subscribe.signature`` (spot: the connection then carries the account's user data
events, wrapped in ``{"subscriptionId", "event"}``) and ``userDataStream.unsubscribe``.

Signed requests carry ``apiKey``, ``timestamp`` and ``signature`` among their ``params``; the
signature is the HMAC-SHA256 of the other params sorted by name, ``key=value`` joined by ``&``
(Binance's rule for the WebSocket API), checked with the same key, signature and clock rules
as a SIGNED REST request.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping

from fks_fake_exchange import signing
from fks_fake_exchange.api_futures import parse_futures_order
from fks_fake_exchange.errors import ApiError, mandatory
from fks_fake_exchange.futures_views import futures_order_view
from fks_fake_exchange.orders import (
    cancel_view,
    generate_client_order_id,
    new_order_view,
    parse_new_order,
)
from fks_fake_exchange.params import Params
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import market_of, order_ref
from fks_fake_exchange.ws_hub import SPOT_USER, Account, Hub, Stream

SIGNED = frozenset(
    {"order.place", "order.test", "order.cancel", "userDataStream.subscribe.signature"}
)
# params of a WebSocket API request that are not order parameters
_ENVELOPE = ("apiKey", "returnRateLimits")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signature_payload(params: Mapping[str, object]) -> str:
    """What a WebSocket API signature covers: params (minus ``signature``) sorted by name."""
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def verify(params: Mapping[str, object], keys: Mapping[str, str], now_ms: int) -> None:
    """Key, signature, then clock: the checks of a SIGNED request, in Binance's order."""
    api_key = params.get("apiKey")
    secret = signing.check_api_key(api_key if isinstance(api_key, str) else None, keys)
    signature = params.get("signature")
    if not isinstance(signature, str) or signature == "":
        raise mandatory("signature")
    expected = signing.sign(secret, signature_payload(params))
    if not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(-1022, "Signature for this request is not valid.")
    timestamp, window = params.get("timestamp"), params.get("recvWindow")
    signing.check_timestamp(
        _text(timestamp) if timestamp is not None else None,
        _text(window) if window is not None else None,
        now_ms,
    )


def _order_params(params: dict[str, object]) -> dict[str, object]:
    """The order's own parameters. ccxt.pro's create_order_ws repeats ``newClientOrderId`` as
    ``clientOrderId``; that copy is dropped (a different value is still an unread parameter)."""
    kept = {k: v for k, v in params.items() if k not in _ENVELOPE}
    if "clientOrderId" in kept and kept["clientOrderId"] == kept.get("newClientOrderId"):
        del kept["clientOrderId"]
    return kept


def _cancel(ex: Exchange, account: Account, params: Params) -> dict[str, object]:
    """``order.cancel``: ``symbol`` and ``orderId`` or ``origClientOrderId``, as REST DELETE."""
    if account == "spot":
        market = market_of(ex.spot_markets, params)
        order_id, client_id = order_ref(params)
        order = ex.spot.cancel(market.symbol, order_id, client_id)
        cancel_id = params.text("newClientOrderId") or generate_client_order_id()
        return cancel_view(order, cancel_id, ex.now())
    market = market_of(ex.futures_markets, params)
    order_id, client_id = order_ref(params)
    futures_order = ex.futures.cancel(market.symbol, order_id, client_id)
    return futures_order_view(futures_order, with_time=False)


def answer(request_id: object, result: object) -> dict[str, object]:
    return {"id": request_id, "status": 200, "result": result, "rateLimits": []}


def refusal(request_id: object, error: ApiError) -> dict[str, object]:
    return {"id": request_id, "status": error.status, "error": error.body()}


def is_order_entry(text: str) -> bool:
    """Whether a request places, tests or cancels an order (what a ``latency`` fault delays)."""
    try:
        request = json.loads(text)
    except ValueError:
        return False
    return isinstance(request, dict) and str(request.get("method", "")).startswith("order.")


def handle(
    ex: Exchange, hub: Hub, stream: Stream, account: Account, text: str
) -> dict[str, object]:
    """The answer to one WebSocket API request (refusals included, never an exception)."""
    try:
        request = json.loads(text)
    except ValueError:
        return refusal(None, ApiError(-1100, "Malformed request: invalid JSON."))
    if not isinstance(request, dict):
        return refusal(None, ApiError(-1100, "Malformed request: expected a JSON object."))
    request_id = request.get("id")
    try:
        return answer(request_id, _dispatch(ex, hub, stream, account, request))
    except ApiError as error:
        return refusal(request_id, error)


def _dispatch(
    ex: Exchange, hub: Hub, stream: Stream, account: Account, request: dict[str, object]
) -> object:
    method = request.get("method")
    params = request.get("params", {})
    if not isinstance(method, str) or not isinstance(params, dict):
        raise ApiError(-1100, "Malformed request: 'method' and 'params' are required.")
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": ex.now()}
    if method not in SIGNED and method != "userDataStream.unsubscribe":
        raise ApiError(-1100, f"Unknown method: '{method}'.")
    if method in SIGNED:
        verify(params, ex.keys, ex.now())
    if method == "userDataStream.subscribe.signature":
        if account != "spot":
            raise ApiError(-1100, f"Unknown method: '{method}'.")
        stream.subscription_id = 0
        stream.topics.add(SPOT_USER)
        return {"subscriptionId": 0}
    if method == "userDataStream.unsubscribe":
        stream.topics.discard(SPOT_USER)
        stream.subscription_id = None
        return {}
    order_params = Params({k: _text(v) for k, v in _order_params(params).items()})
    if method == "order.cancel":
        return _cancel(ex, account, order_params)
    if account == "spot":
        new = parse_new_order(order_params, ex.spot_markets)
        if method == "order.test":
            return {}
        order = ex.spot.place(new)
        ex.stats.orders_created += 1
        return new_order_view(order, new.resp_type)
    futures_new = parse_futures_order(order_params, ex.futures_markets)
    if method == "order.test":
        return {}
    futures_order = ex.futures.place(futures_new)
    ex.stats.orders_created += 1
    return futures_order_view(futures_order, with_time=False)
