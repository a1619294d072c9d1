"""Payload parsing and normalisation: JSON from raw bytes, schema, aliases, timestamps, symbols."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fks_executor.domain import Action, OrderType
from fks_executor.errors import InvalidJson, InvalidPayload, Stale
from fks_executor.signals import (
    build_signal,
    check_freshness,
    decode_body,
    default_signal_id,
    parse_action,
    parse_timestamp,
    take_passphrase,
)

NOW = 1_763_000_000.0


def signal_of(obj: dict[str, Any], raw: bytes | None = None) -> Any:
    base = {"symbol": "BTCUSDT", "action": "buy", "timestamp": NOW}
    base.update(obj)
    body = raw if raw is not None else json.dumps(base).encode()
    return build_signal(base, body)


def payload_error(obj: dict[str, Any]) -> str:
    with pytest.raises(InvalidPayload) as info:
        signal_of(obj)
    return info.value.detail


# --- decode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"not json",
        b'{"a": 1',
        b"\xff\xfe\x00",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"[" * 100_000,
        b"1" * 5000,  # beyond Python's int-digits limit
    ],
)
def test_non_json_bodies_are_invalid_json(raw: bytes) -> None:
    with pytest.raises(InvalidJson):
        decode_body(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"action": "buy", "action": "sell"}',
        b'{"a": {"k": 1, "k": 1}}',
        b'[{"x": [{"k": 1, "k": 2}]}]',
        b'{"a": 1, "b": 2, "a": 3}',
    ],
)
def test_a_key_given_twice_in_one_object_is_invalid_json(raw: bytes) -> None:
    with pytest.raises(InvalidJson) as info:
        decode_body(raw)
    assert info.value.detail == "body has an object with the same key twice"


def test_the_same_key_in_different_objects_is_fine() -> None:
    assert decode_body(b'[{"k": 1}, {"k": 2}]') == [{"k": 1}, {"k": 2}]
    assert decode_body(b'{"k": {"k": 1}}') == {"k": {"k": 1}}


def test_an_unknown_field_is_refused_without_repeating_its_name() -> None:
    detail = payload_error({"sk_live_pasted_here": 1})
    assert "sk_live_pasted_here" not in detail


def test_json_is_parsed_whatever_the_content_type_and_with_a_bom() -> None:
    assert decode_body(b'{"a": 1}') == {"a": 1}
    assert decode_body('\ufeff{"a": 1}'.encode()) == {"a": 1}
    assert decode_body(b"[1, 2]") == [1, 2]


def test_passphrase_is_taken_out_of_the_object() -> None:
    obj = {"symbol": "X", "passphrase": "p"}
    assert take_passphrase(obj) == "p"
    assert obj == {"symbol": "X"}
    assert take_passphrase(obj) is None


# --- schema -----------------------------------------------------------------------------


def test_full_payload_normalises_to_a_signal() -> None:
    body = {
        "id": "alert-1",
        "symbol": " BINANCE:BTCUSDT ",
        "action": "LONG",
        "confidence": "0.9",
        "timestamp": "2025-11-13T02:13:20Z",
        "price": "68000.5",
        "order_type": "LIMIT",
        "stop_loss": 67000,
        "take_profit": 70000,
        "amount": 0.01,
        "size_usd": 500,
        "atr": 120.5,
        "account": "main",
        "comment": "from my strategy",
    }
    sig = build_signal(body, b"ignored")
    assert sig.signal_id == "alert-1"
    assert sig.symbol == "BINANCE:BTCUSDT"
    assert sig.action is Action.BUY
    assert sig.confidence == 0.9
    assert sig.timestamp == datetime(2025, 11, 13, 2, 13, 20, tzinfo=UTC).timestamp()
    assert sig.price == 68000.5
    assert sig.order_type is OrderType.LIMIT
    assert (sig.stop_loss, sig.take_profit, sig.amount, sig.size_usd, sig.atr) == (
        67000,
        70000,
        0.01,
        500,
        120.5,
    )
    assert sig.account == "main"


def test_defaults_and_the_default_signal_id_is_sha256_of_the_raw_body() -> None:
    raw = b'{"symbol":"BTCUSDT","action":"sell","timestamp":1763000000}'
    sig = build_signal(json.loads(raw), raw)
    assert sig.signal_id == hashlib.sha256(raw).hexdigest() == default_signal_id(raw)
    assert sig.confidence == 1.0
    assert sig.order_type is OrderType.MARKET
    assert sig.price is None
    assert sig.account is None


@pytest.mark.parametrize(
    ("value", "action"),
    [
        ("buy", Action.BUY),
        ("Long", Action.BUY),
        ("sell", Action.SELL),
        ("SHORT", Action.SELL),
        ("close", Action.CLOSE),
        ("exit", Action.CLOSE),
        (" flat ", Action.CLOSE),
    ],
)
def test_action_aliases(value: str, action: Action) -> None:
    assert parse_action(value) is action
    assert signal_of({"action": value}).action is action


@pytest.mark.parametrize(
    ("alias", "field", "value", "attr"),
    [
        ("ticker", "symbol", "ETHUSDT", "symbol"),
        ("side", "action", "sell", "action"),
        ("orderType", "order_type", "limit", "order_type"),
        ("type", "order_type", "limit", "order_type"),
        ("stopLoss", "stop_loss", 1.5, "stop_loss"),
        ("takeProfit", "take_profit", 2.5, "take_profit"),
        ("sizeUsd", "size_usd", 10, "size_usd"),
        ("sizeUSD", "size_usd", 10, "size_usd"),
        ("time", "timestamp", NOW, "timestamp"),
        ("signal_id", "id", "abc", "signal_id"),
    ],
)
def test_field_aliases(alias: str, field: str, value: Any, attr: str) -> None:
    obj: dict[str, Any] = {"symbol": "BTCUSDT", "action": "buy", "timestamp": NOW}
    obj.pop(field, None)
    obj[alias] = value
    sig = build_signal(obj, b"x")
    assert str(getattr(sig, attr)) == str(value) or getattr(sig, attr) == value


def test_a_field_given_twice_under_two_names_is_refused() -> None:
    assert payload_error({"ticker": "ETHUSDT"}) == "symbol, ticker: the same field given twice"


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"symbol": None}, "symbol: "),
        (
            {"action": "hold"},
            "action: must be one of buy, sell, close (or long, short, exit, flat)",
        ),
        ({"action": 1}, "action: must be one of buy, sell, close"),
        ({"stoploss": 1}, "body: a field that is not in the alert schema"),
        ({"price": 0}, "price: must be greater than 0"),
        ({"price": -1}, "price: must be greater than 0"),
        ({"price": "NaN"}, "price: "),
        ({"price": "inf"}, "price: "),
        ({"price": True}, "price: must be a number"),
        ({"price": "abc"}, "price: must be a number"),
        ({"price": [1]}, "price: "),
        ({"amount": 1e400}, "amount: "),
        ({"confidence": 1.5}, "confidence: must be less than or equal to 1"),
        ({"confidence": -0.1}, "confidence: must be greater than or equal to 0"),
        ({"order_type": "stop"}, "order_type: must be one of market, limit"),
        ({"timestamp": "yesterday"}, "timestamp: must be unix seconds"),
        ({"timestamp": True}, "timestamp: must be unix seconds"),
        ({"timestamp": None}, "timestamp: "),
        ({"id": "x" * 65}, "id: "),
        ({"id": ""}, "id: "),
        ({"id": "a\nb"}, "id: must not contain control characters"),
        ({"id": "a\udcffb"}, "id: must be valid Unicode text"),
        ({"account": ""}, "account: "),
        ({"symbol": "BTC USDT"}, "symbol: not a symbol"),
        ({"symbol": "/USDT"}, "symbol: not a symbol"),
        ({"symbol": ""}, "symbol: not a symbol"),
        ({"symbol": 5}, "symbol: "),
    ],
)
def test_schema_violations_name_the_field(change: dict[str, Any], detail: str) -> None:
    obj: dict[str, Any] = {"symbol": "BTCUSDT", "action": "buy", "timestamp": NOW}
    for key, value in change.items():
        if value is None and key in ("symbol", "timestamp"):
            obj.pop(key)
        else:
            obj[key] = value
    with pytest.raises(InvalidPayload) as info:
        build_signal(obj, b"x")
    assert info.value.detail.startswith(detail), info.value.detail


def test_error_details_never_echo_the_value() -> None:
    detail = payload_error({"price": "my-secret-looking-value"})
    assert "my-secret-looking-value" not in detail


def test_numeric_ids_become_text() -> None:
    assert signal_of({"id": 12345}).signal_id == "12345"


# --- timestamps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_763_000_000, 1_763_000_000.0),
        (1_763_000_000.25, 1_763_000_000.25),
        (1_763_000_000_123, 1_763_000_000.123),
        ("1763000000", 1_763_000_000.0),
        ("1763000000123", 1_763_000_000.123),
        ("2025-11-13T02:13:20Z", 1_763_000_000.0),
        ("2025-11-13T02:13:20.500Z", 1_763_000_000.5),
        ("2025-11-13T03:13:20+01:00", 1_763_000_000.0),
        ("2025-11-13T02:13:20", 1_763_000_000.0),  # no zone = UTC
        ("2025-11-13 02:13:20", 1_763_000_000.0),
    ],
)
def test_three_timestamp_forms(value: Any, expected: float) -> None:
    assert parse_timestamp(value) == pytest.approx(expected)


def test_freshness_window() -> None:
    check_freshness(NOW - 300, NOW, 300)
    check_freshness(NOW + 60, NOW, 300)
    with pytest.raises(Stale, match="301 s old"):
        check_freshness(NOW - 301, NOW, 300)
    with pytest.raises(Stale, match="61 s in the future"):
        check_freshness(NOW + 61, NOW, 300)
    with pytest.raises(Stale):
        check_freshness(0, NOW, 300)


# --- symbols ----------------------------------------------------------------------------
# Intake checks only the form; resolution through the markets is the exchange layer's
# (tests/unit/execution/test_markets.py), so there is one resolver.


@pytest.mark.parametrize(
    "raw",
    ["BTC/USDT", "BTCUSDT", "btcusdt", "BINANCE:BTCUSDT", "BTCUSDT.P", "BTC/USDT:USDT", "BTC-USDT"],
)
def test_symbol_forms_pass_intake_as_sent(raw: str) -> None:
    signal = build_signal({"symbol": f" {raw} ", "action": "buy", "timestamp": NOW}, b"{}")
    assert signal.symbol == raw


@pytest.mark.parametrize("raw", ["", " ", "BTC USDT", "/USDT", "x" * 65, "BTC$USDT", ":BTC"])
def test_not_symbols(raw: str) -> None:
    with pytest.raises(InvalidPayload, match="symbol: not a symbol"):
        build_signal({"symbol": raw, "action": "buy", "timestamp": NOW}, b"{}")
