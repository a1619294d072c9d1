"""Well-formed but hostile alerts against ``fks-executor`` processes (trading and dry-run) on
the fake exchange, on every venue (Binance spot and USD-M, Bybit spot and linear): extreme
numbers get a clear 4xx, never a 500; duplicate JSON keys are refused before anything trades;
and no refusal repeats what the sender wrote — not in the answer, the audit trail, the journal
or ``/signals``."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import AUTH, Executor, alert, audit, start_executor, wait_for
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

#: (sizing method, mode) on every venue: the sizing methods that divide by what the alert sets
#: (price, the stop_loss distance, atr) when trading, and the paper (dry-run) fills.
SETUPS = [
    ("fixed-notional", "trading"),
    ("risk", "trading"),
    ("volatility", "trading"),
    ("risk", "dry-run"),
]
EXTREMES: list[Any] = [1e-30, 5e-324, 1e30, 1e300, 1.7976931348623157e308, 2**64 - 1, "1e-30"]
NUMERIC_FIELDS = ["price", "stop_loss", "take_profit", "amount", "size_usd", "atr"]
#: What an extreme number may be answered with: done, or refused with a documented reason.
REFUSALS = {"invalid_payload", "invalid_order", "below_minimum", "risk_limit", "insufficient_funds"}


@pytest.fixture(scope="module", params=SETUPS, ids=["-".join(s) for s in SETUPS])
def trading(
    request: pytest.FixtureRequest,
    venue: Venue,
    venue_server: FakeExchange,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Executor, Path, str]]:
    sizing, mode = request.param
    name = f"hostile-{venue.name}-{sizing}-{mode}"
    workdir = tmp_path_factory.mktemp(name)
    changes = {
        "dryRun": mode == "dry-run",
        "responseDeadlineSeconds": 10.0,
        "accounts": [venue.account(venue_server)],
        "risk": {"sizing": {"method": sizing, "riskPerTrade": 0.01, "atrMultiplier": 2}},
    }
    ex = start_executor(workdir, venue_server, changes, name=name)
    wait_for(lambda: all(ex.get("/ready").json()["markets"].values()), what="markets loaded")
    yield ex, workdir, venue.harness.symbol
    ex.process.stop()


_ids = itertools.count()


def _post(ex: Executor, **fields: Any) -> tuple[int, dict[str, Any]]:
    r = ex.post(alert(id=f"hostile-{next(_ids)}", **fields))
    return r.status_code, r.json()


# --- numbers at the edge of a double -----------------------------------------------------------


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_extreme_numbers_are_executed_or_refused_never_a_500(
    trading: tuple[Executor, Path, str], fx: FakeExchange, field: str
) -> None:
    ex, _, symbol = trading
    wrong = []
    for value, action, order_type in itertools.product(
        EXTREMES, ["buy", "sell", "close"], ["market", "limit"]
    ):
        fields: dict[str, Any] = {
            "symbol": symbol,
            "action": action,
            "order_type": order_type,
            "price": 68000,
            "stop_loss": 69000 if action == "sell" else 67000,
            "atr": 500,
            field: value,
        }
        status, body = _post(ex, **fields)
        refused_clearly = body["reason"] in REFUSALS and bool(body.get("detail"))
        if status >= 400 and not (status < 500 and refused_clearly):
            wrong.append(f"{field}={value!r} {action} {order_type}: {status} {body}")
    assert wrong == []


def test_the_issues_three_cases_get_a_clear_refusal(
    trading: tuple[Executor, Path, str], fx: FakeExchange, venue: Venue
) -> None:
    ex, _, symbol = trading
    symbol = symbol
    cases = [
        {"action": "buy", "order_type": "limit", "price": 1e30},
        {"action": "buy", "price": 1e-30},
        {"action": "sell", "price": 68000, "stop_loss": 1e300},
    ]
    for fields in cases:
        status, body = _post(ex, symbol=symbol, **fields)
        assert (status, body["status"]) == (422, "rejected"), (fields, body)
        assert body["reason"] in REFUSALS, (fields, body)
    assert venue.orders(fx) == []  # nothing reached the exchange


# --- duplicate keys ----------------------------------------------------------------------------


def test_a_key_given_twice_is_refused_and_nothing_trades(
    trading: tuple[Executor, Path, str], fx: FakeExchange, venue: Venue
) -> None:
    ex, _, symbol = trading
    body = json.dumps(alert(id="hostile-dup", symbol=symbol, amount=0.001))
    body = body.replace('"action": "buy"', '"action": "buy", "action": "sell"')
    assert body.count('"action"') == 2
    r = ex.post(body.encode())
    assert (r.status_code, r.json()["reason"]) == (400, "invalid_json"), r.text
    assert "same key twice" in r.json()["detail"]
    assert venue.orders(fx) == []
    assert ex.get("/signals/hostile-dup", **AUTH).status_code == 404  # never claimed


@pytest.mark.parametrize(
    "body",
    [
        '{"symbol": "X", "symbol": "X"}',
        '{"comment": {"a": 1, "a": 1}}',
        '[{"deep": [{"k": 1, "k": 2}]}]',
        '{"passphrase": "a", "passphrase": "b"}',
    ],
)
def test_duplicate_keys_are_refused_at_every_depth(
    trading: tuple[Executor, Path, str], body: str
) -> None:
    ex, _, _ = trading
    r = ex.post(body.encode())
    assert (r.status_code, r.json()["reason"]) == (400, "invalid_json"), r.text


# --- no echo -----------------------------------------------------------------------------------


def _everywhere(ex: Executor, workdir: Path, signal_id: str | None) -> str:
    """Everything the executor stored or shows about alerts: audit lines, the journal's bytes
    and the /signals record."""
    text = json.dumps(audit(workdir))
    with sqlite3.connect(workdir / "journal.db") as db:
        tables = db.execute("select name from sqlite_master where type = 'table'").fetchall()
        for (table,) in tables:
            text += repr(db.execute(f"select * from {table}").fetchall())
    if signal_id is not None:
        text += ex.get(f"/signals/{signal_id}", **AUTH).text
    return text


def test_an_unknown_field_name_is_not_repeated_anywhere(
    trading: tuple[Executor, Path, str],
) -> None:
    ex, workdir, symbol = trading
    pasted = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"  # a secret pasted as a field name
    r = ex.post(alert(id="hostile-field", symbol=symbol, **{pasted: 1}))
    assert (r.status_code, r.json()["reason"]) == (422, "invalid_payload")
    assert "not in the alert schema" in r.json()["detail"]
    assert pasted not in r.text
    assert pasted not in _everywhere(ex, workdir, "hostile-field")


def test_an_unknown_account_is_not_repeated_anywhere(trading: tuple[Executor, Path, str]) -> None:
    ex, workdir, symbol = trading
    pasted = "Zq8nW2vLr5TgY7uK1pXe"  # a secret pasted into "account"
    r = ex.post(alert(id="hostile-account", symbol=symbol, account=pasted))
    assert (r.status_code, r.json()["reason"]) == (422, "unknown_account")
    assert r.json()["detail"] == "account: not one of this pipeline's accounts"
    assert pasted not in r.text
    assert pasted not in _everywhere(ex, workdir, "hostile-account")


def test_an_unknown_symbol_is_not_repeated_in_any_detail(
    trading: tuple[Executor, Path, str],
) -> None:
    """The symbol is part of the signal's record (journal, audit ``symbol``); what the executor
    says about it (``detail``, everywhere) never repeats it."""
    ex, workdir, _ = trading
    pasted = "HQ7vLr5TgY7uK1pXeZq8nW2USDT"
    r = ex.post(alert(id="hostile-symbol", symbol=pasted))
    assert (r.status_code, r.json()["reason"]) == (422, "symbol_not_allowed")
    assert pasted not in r.text.replace(f'"signal_id":"{pasted}"', "")
    details = [e.get("detail") or "" for e in audit(workdir)]
    record = ex.get("/signals/hostile-symbol", **AUTH).json()
    details.append(record["outcome"]["detail"])
    assert record["outcome"]["reason"] == "symbol_not_allowed"
    assert all(pasted not in d for d in details), details
