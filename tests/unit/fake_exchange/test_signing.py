"""SIGNED request checks: ccxt's own signing is the oracle for what a client sends."""

from __future__ import annotations

from urllib.parse import urlsplit

import ccxt
import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.signing import (
    check_timestamp,
    sign,
    signed_payload,
    strip_signature,
    verify,
)

KEY, SECRET = "test-key", "test-secret"
KEYS = {KEY: SECRET}
NOW = 1_700_000_000_000


def _ccxt_request(method: str, params: dict[str, object], secret: str = SECRET) -> dict[str, str]:
    ex = ccxt.binance({"apiKey": KEY, "secret": secret})
    ex.nonce = lambda: NOW  # a fixed timestamp, so the request is reproducible
    signed: dict[str, str] = ex.sign("order", ["private"], method, dict(params))
    return signed


def _verify(signed: dict[str, str], now: int = NOW, keys: dict[str, str] = KEYS) -> None:
    query = urlsplit(signed["url"]).query
    body = signed["body"] or ""
    params = dict(p.split("=", 1) for p in (query + "&" + body).strip("&").split("&"))
    verify(
        api_key=(signed["headers"] or {}).get("X-MBX-APIKEY"),
        keys=keys,
        raw_query=query,
        raw_body=body,
        timestamp=params.get("timestamp"),
        recv_window=params.get("recvWindow"),
        now_ms=now,
    )


ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.001",
    "price": "40000",
    "timeInForce": "GTC",
    "newClientOrderId": "fks-abc/def:1_2.3",
}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_ccxt_signed_requests_verify(method: str) -> None:
    signed = _ccxt_request(method, ORDER)
    if method == "POST":
        assert signed["body"].endswith("&signature=" + signed["body"].rsplit("=", 1)[1])
    else:
        assert "signature=" in signed["url"]
    _verify(signed)


def test_wrong_secret_is_1022() -> None:
    with pytest.raises(ApiError) as info:
        _verify(_ccxt_request("POST", ORDER, secret="other-secret"))
    assert (info.value.code, info.value.status) == (-1022, 400)
    assert info.value.msg == "Signature for this request is not valid."


def test_tampered_parameter_is_1022() -> None:
    signed = _ccxt_request("POST", ORDER)
    signed["body"] = signed["body"].replace("quantity=0.001", "quantity=0.002")
    with pytest.raises(ApiError, match="-1022"):
        _verify(signed)


def test_reencoded_payload_is_not_accepted() -> None:
    """The check runs over the raw bytes: decoding and re-encoding would hide a mismatch."""
    signed = _ccxt_request("POST", ORDER)
    assert "fks-abc%2Fdef%3A1_2.3" in signed["body"]
    signed["body"] = signed["body"].replace("fks-abc%2Fdef%3A1_2.3", "fks-abc/def:1_2.3")
    with pytest.raises(ApiError, match="-1022"):
        _verify(signed)


def test_api_key_missing_or_unknown_is_401() -> None:
    signed = _ccxt_request("GET", ORDER)
    signed["headers"] = {}
    with pytest.raises(ApiError) as info:
        _verify(signed)
    assert (info.value.code, info.value.status) == (-2014, 401)
    with pytest.raises(ApiError) as info:
        _verify(_ccxt_request("GET", ORDER), keys={"another-key": SECRET})
    assert (info.value.code, info.value.status) == (-2015, 401)


def test_missing_signature_is_1102() -> None:
    with pytest.raises(ApiError) as info:
        verify(
            api_key=KEY,
            keys=KEYS,
            raw_query=f"symbol=BTCUSDT&timestamp={NOW}",
            raw_body="",
            timestamp=str(NOW),
            recv_window=None,
            now_ms=NOW,
        )
    assert info.value.code == -1102
    assert "'signature'" in info.value.msg


def test_query_and_body_are_signed_together_like_binance() -> None:
    """Binance's documented mixed example: totalParams = query string + request body."""
    query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    signature = sign(secret, query + body)
    assert signature == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    verify(
        api_key=KEY,
        keys={KEY: secret},
        raw_query=query,
        raw_body=body + "&signature=" + signature,
        timestamp="1499827319559",
        recv_window="5000",
        now_ms=1499827319559 + 100,
    )


def test_strip_signature_anywhere_and_payload() -> None:
    assert strip_signature("a=1&signature=ab&b=2") == ("a=1&b=2", "ab")
    assert strip_signature("a=1") == ("a=1", None)
    assert strip_signature("") == ("", None)
    assert signed_payload("a=1&signature=x", "b=2") == ("a=1b=2", "x")
    assert signed_payload("a=1", "b=2&signature=y") == ("a=1b=2", "y")


@pytest.mark.parametrize(
    ("timestamp", "recv_window", "now", "code"),
    [
        (str(NOW), None, NOW, None),
        (str(NOW - 5_000), None, NOW, None),  # default window 5 s, inclusive
        (str(NOW - 5_001), None, NOW, -1021),
        (str(NOW - 9_000), "10000", NOW, None),
        (str(NOW + 999), None, NOW, None),
        (str(NOW + 1_000), None, NOW, -1021),  # more than 1 s ahead
        (str(NOW), "60001", NOW, -1131),
        (None, None, NOW, -1102),
        ("yesterday", None, NOW, -1102),
    ],
)
def test_timestamp_window(
    timestamp: str | None, recv_window: str | None, now: int, code: int | None
) -> None:
    if code is None:
        check_timestamp(timestamp, recv_window, now)
        return
    with pytest.raises(ApiError) as info:
        check_timestamp(timestamp, recv_window, now)
    assert info.value.code == code
