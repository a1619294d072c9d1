"""Bybit V5 request authentication, as pure checks over the raw bytes of a request."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from fks_fake_exchange.bybit_errors import BybitError
from fks_fake_exchange.bybit_signing import sign, verify

KEYS = {"key-1": "secret-1"}
NOW = 1_700_000_000_000


def _headers(
    payload: str, *, ts: int = NOW, key: str = "key-1", secret: str = "secret-1", recv: str = "5000"
) -> dict[str, str]:
    return {
        "X-BAPI-API-KEY": key,
        "X-BAPI-TIMESTAMP": str(ts),
        "X-BAPI-RECV-WINDOW": recv,
        "X-BAPI-SIGN": sign(secret, str(ts), key, recv, payload),
    }


def _check(headers: dict[str, str], method: str, query: str = "", body: str = "") -> str:
    return verify(
        headers=headers, method=method, raw_query=query, raw_body=body, keys=KEYS, now_ms=NOW
    )


def _code(headers: dict[str, str], method: str, query: str = "", body: str = "") -> int:
    with pytest.raises(BybitError) as refused:
        _check(headers, method, query, body)
    return refused.value.code


def test_the_signature_is_hmac_of_timestamp_key_window_and_payload() -> None:
    expected = hmac.new(
        b"secret-1", b"1700000000000key-15000category=spot", hashlib.sha256
    ).hexdigest()
    assert sign("secret-1", str(NOW), "key-1", "5000", "category=spot") == expected


def test_get_signs_the_raw_query_and_post_the_raw_body() -> None:
    query = "category=spot&symbol=BTCUSDT"
    assert _check(_headers(query), "GET", query=query) == "key-1"
    body = '{"category":"linear","symbol":"BTCUSDT"}'
    assert _check(_headers(body), "POST", body=body) == "key-1"
    # the same parameters in another order are other bytes: refused
    assert _code(_headers(query), "GET", query="symbol=BTCUSDT&category=spot") == 10004
    assert _code(_headers(body), "POST", body='{"symbol":"BTCUSDT","category":"linear"}') == 10004


def test_wrong_secret_unknown_or_missing_key() -> None:
    assert _code(_headers("a=1", secret="nope"), "GET", query="a=1") == 10004
    assert _code(_headers("a=1", key="key-2"), "GET", query="a=1") == 10003
    headers = _headers("a=1")
    del headers["X-BAPI-API-KEY"]
    assert _code(headers, "GET", query="a=1") == 10003


@pytest.mark.parametrize(
    ("ts", "recv", "accepted"),
    [
        (NOW, "5000", True),
        (NOW - 5000, "5000", True),
        (NOW - 5001, "5000", False),
        (NOW - 9000, "10000", True),
        (NOW + 999, "5000", True),
        (NOW + 1000, "5000", False),
    ],
)
def test_recv_window(ts: int, recv: str, accepted: bool) -> None:
    headers = _headers("", ts=ts, recv=recv)
    if accepted:
        assert _check(headers, "GET") == "key-1"
    else:
        assert _code(headers, "GET") == 10002


def test_missing_window_defaults_to_5000_and_is_signed_as_sent() -> None:
    headers = _headers("", ts=NOW - 4000, recv="")
    del headers["X-BAPI-RECV-WINDOW"]
    assert _check(headers, "GET") == "key-1"
    headers = _headers("", ts=NOW - 6000, recv="")
    del headers["X-BAPI-RECV-WINDOW"]
    assert _code(headers, "GET") == 10002


def test_malformed_timestamp_or_window() -> None:
    headers = _headers("")
    headers["X-BAPI-TIMESTAMP"] = "soon"
    assert _code(headers, "GET") == 10001
    assert _code(_headers("", recv="-1"), "GET") == 10001
    del headers["X-BAPI-TIMESTAMP"]
    assert _code(headers, "GET") == 10002
