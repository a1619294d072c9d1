"""Bybit V5 request authentication: API key, HMAC-SHA256 signature and recv window.

A private V5 request carries four headers: ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (ms),
``X-BAPI-RECV-WINDOW`` (ms, 5000 when absent) and ``X-BAPI-SIGN`` = hex HMAC-SHA256, with the
account's secret, of ``timestamp + apiKey + recvWindow + payload``, where the payload is the raw
query string of a GET and the raw JSON body of a POST. The check runs over the bytes as sent
(nothing is decoded and re-encoded), as on Bybit. A timestamp is accepted when
``server_time - recv_window <= timestamp < server_time + 1000``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from fks_fake_exchange.bybit_errors import (
    INVALID_API_KEY,
    INVALID_SIGN,
    TIMESTAMP_ERROR,
    BybitError,
    invalid,
)

API_KEY_HEADER = "X-BAPI-API-KEY"
SIGN_HEADER = "X-BAPI-SIGN"
TIMESTAMP_HEADER = "X-BAPI-TIMESTAMP"
RECV_WINDOW_HEADER = "X-BAPI-RECV-WINDOW"
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_AHEAD_MS = 1_000


def sign(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """What a V5 client puts in ``X-BAPI-SIGN``."""
    text = timestamp + api_key + recv_window + payload
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise invalid(name) from None


def verify(
    *,
    headers: Mapping[str, str],
    method: str,
    raw_query: str,
    raw_body: str,
    keys: Mapping[str, str],
    now_ms: int,
) -> str:
    """Check one private request; returns the API key. Raises :class:`BybitError` (10003,
    10002, 10004) like Bybit."""
    api_key = headers.get(API_KEY_HEADER)
    secret = keys.get(api_key) if api_key else None
    if api_key is None or secret is None:
        raise BybitError(INVALID_API_KEY, "API key is invalid.")
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not timestamp:
        raise BybitError(TIMESTAMP_ERROR, "invalid request, please check your timestamp")
    sent_at = _integer(timestamp, "X-BAPI-TIMESTAMP")
    recv_text = headers.get(RECV_WINDOW_HEADER, "")
    recv_window = _integer(recv_text, "X-BAPI-RECV-WINDOW") if recv_text else DEFAULT_RECV_WINDOW_MS
    if recv_window <= 0:
        raise invalid("X-BAPI-RECV-WINDOW")
    if not now_ms - recv_window <= sent_at < now_ms + MAX_AHEAD_MS:
        raise BybitError(
            TIMESTAMP_ERROR,
            "invalid request, please check your server timestamp or recv_window param",
        )
    payload = raw_body if method == "POST" else raw_query
    expected = sign(secret, timestamp, api_key, recv_text, payload)
    given = headers.get(SIGN_HEADER, "")
    if not hmac.compare_digest(expected, given.lower()):
        raise BybitError(
            INVALID_SIGN, "error sign! please check your signature generation algorithm"
        )
    return api_key
