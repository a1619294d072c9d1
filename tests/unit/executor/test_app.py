"""The webhook through the ASGI app: every intake row of the SPEC §3 answer table (the execution
seam: test_app_executor.py; admin, readiness, metrics, audit: test_app_operations.py)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from fks_executor.auth import sign
from tests.unit.executor.helpers import (
    SECRET,
    alert,
    audit_lines,
    make_app,
    make_config,
    raw,
    serve,
)
from tests.unit.executor.webhook_client import answer, post

# --- the answer table -------------------------------------------------------------------


async def test_the_executors_outcome_is_the_answer(tmp_path: Path) -> None:
    """(The stand-in executor fills at the alert's price; the real one is tested against the
    fake exchange in tests/integration/execution.)"""
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, alert(id="a1", symbol="BINANCE:ETHUSDT", price=2500, size_usd=250))
    assert r.status_code == 200
    body = answer(r)
    assert body["status"] == "dry_run"
    assert body["signal_id"] == "a1"
    order = body["order"]
    assert order["dry_run"] is True
    assert order["symbol"] == "BINANCE:ETHUSDT"
    assert order["price"] == 2500
    assert order["amount"] == pytest.approx(0.1)
    assert order["account"] == "main"
    assert order["client_order_id"].startswith("fks-")


async def test_both_paths_and_text_plain(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r1 = await http.post(
            "/webhook", content=raw(alert(id="p1")), headers={"content-type": "text/plain"}
        )
        r2 = await http.post("/webhook/tradingview", content=raw(alert(id="p2")))
    assert (r1.status_code, r2.status_code) == (200, 200)


async def test_hmac_signed_alert_without_passphrase(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, webhook={"auth": "hmac"}))
    body = raw(alert(id="h1", passphrase=None))
    async with serve(app) as http:
        ok = await post(http, body, **{"X-Webhook-Signature": "sha256=" + sign(body, SECRET)})
        alt = await post(http, raw(alert(id="h2", passphrase=None)), **{"X-Signature": "00" * 32})
        token = await post(http, alert(id="h3"))  # hmac mode: the passphrase is not enough
    assert ok.status_code == 200
    assert (alt.status_code, answer(alt)["reason"]) == (401, "invalid_signature")
    assert (token.status_code, answer(token)["reason"]) == (401, "invalid_signature")


async def test_duplicate_answers_the_first_outcome(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    body = raw(alert())  # no id: the SHA-256 of the body is the id
    async with serve(app) as http:
        first = await post(http, body)
        second = await post(http, body)
    assert first.status_code == second.status_code == 200
    one, two = answer(first), answer(second)
    assert one["signal_id"] == hashlib.sha256(body).hexdigest()
    assert two["status"] == "duplicate"
    assert two["signal_id"] == one["signal_id"]
    assert two["order"] == one["order"]
    assert two["first"]["status"] == "dry_run"


async def test_low_confidence_is_ignored(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, alert(confidence=0.59))
        ok = await post(http, alert(confidence=0.6, id="c"))
    assert r.status_code == 200
    assert (answer(r)["status"], answer(r)["reason"]) == ("ignored", "low_confidence")
    assert answer(ok)["status"] == "dry_run"


@pytest.mark.parametrize(
    "body",
    [
        alert(passphrase="wrong"),
        alert(passphrase=None),
        alert(passphrase=12),
        alert(passphrase=SECRET + "x"),
    ],
)
async def test_bad_token_is_401(tmp_path: Path, body: dict[str, Any]) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, body)
    assert r.status_code == 401
    assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "invalid_signature")


async def test_unauthenticated_array_is_401_not_a_schema_hint(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, b"[1,2,3]")
    assert r.status_code == 401


async def test_source_not_allowed_is_403(tmp_path: Path) -> None:
    config = make_config(tmp_path, webhook={"allowedSources": ["tradingview"]})
    async with serve(make_app(config), client=("198.51.100.7", 5000)) as http:
        r = await post(http, alert())
    assert r.status_code == 403
    assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "ip_not_allowed")
    async with serve(make_app(config), client=("52.89.214.238", 5000)) as http:
        assert (await post(http, alert())).status_code == 200


async def test_forwarded_for_from_a_trusted_proxy(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, webhook={"allowedSources": ["tradingview"], "trustedProxies": ["10.0.0.0/8"]}
    )
    async with serve(make_app(config), client=("10.1.1.1", 5000)) as http:
        ok = await post(http, alert(id="x1"), **{"X-Forwarded-For": "34.212.75.30"})
        spoof = await post(
            http, alert(id="x2"), **{"X-Forwarded-For": "34.212.75.30, 198.51.100.9"}
        )
        # a proxy that adds its own X-Forwarded-For line after the client's forged one
        two_lines = await http.post(
            "/webhook/tradingview",
            content=raw(alert(id="x4")),
            headers=[("X-Forwarded-For", "34.212.75.30"), ("X-Forwarded-For", "198.51.100.9")],
        )
    assert ok.status_code == 200
    assert spoof.status_code == 403
    assert two_lines.status_code == 403
    async with serve(make_app(config), client=("198.51.100.9", 5000)) as http:
        direct = await post(http, alert(id="x3"), **{"X-Forwarded-For": "34.212.75.30"})
    assert direct.status_code == 403


@pytest.mark.parametrize("body", [b"", b"hello", b'{"symbol": ', b'{"a": NaN}'])
async def test_not_json_is_400(tmp_path: Path, body: bytes) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, body)
    assert r.status_code == 400
    assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "invalid_json")


async def test_body_over_64_kib_is_413_with_and_without_content_length(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    limit = 64 * 1024
    padded = alert(comment=None)
    padded["id"] = "big"
    text = raw(padded)
    exact = text[:-1] + b" " * (limit - len(text)) + b"}"
    assert len(exact) == limit

    async def chunks(data: bytes) -> Any:
        for i in range(0, len(data), 4096):
            yield data[i : i + 4096]

    async with serve(app) as http:
        at_limit = await post(http, exact)
        over = await post(http, exact + b" ")
        streamed = await http.post("/webhook", content=chunks(b" " * (limit + 1)))
        huge_claim = await http.post(
            "/webhook", content=b"{}", headers={"content-length": str(10**9)}
        )
    assert at_limit.status_code == 200
    for r in (over, streamed):
        assert r.status_code == 413
        assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "body_too_large")
    assert huge_claim.status_code in (400, 413)  # the server refuses the lying length


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"symbol": None}, "symbol"),
        ({"action": "hodl"}, "action"),
        ({"price": -5}, "price"),
        ({"stoploss": 1}, "body"),  # unknown: not repeated (docs/executor.md#alerts)
        ({"timestamp": None}, "timestamp"),
        ({"order_type": "iceberg"}, "order_type"),
    ],
)
async def test_schema_violation_is_422_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, alert(**change))
    assert r.status_code == 422
    body = answer(r)
    assert (body["status"], body["reason"]) == ("rejected", "invalid_payload")
    assert body["detail"].startswith(f"{field}:")


async def test_signed_non_object_is_422(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        r = await post(http, b"[1]", **{"X-Webhook-Signature": sign(b"[1]", SECRET)})
    assert r.status_code == 422
    assert answer(r)["detail"] == "body: must be a JSON object"


@pytest.mark.parametrize(
    "timestamp",
    [
        lambda now: now - 301,
        lambda now: now + 61,
        lambda now: (now - 400) * 1000,
        lambda now: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
    ],
)
async def test_stale_or_future_is_422(tmp_path: Path, timestamp: Any) -> None:
    now = 1_763_000_000
    app = make_app(make_config(tmp_path), clock=lambda: float(now))
    async with serve(app) as http:
        r = await post(http, alert(timestamp=timestamp(now)))
    assert r.status_code == 422
    assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "stale")


async def test_all_three_timestamp_forms_are_fresh(tmp_path: Path) -> None:
    now = 1_763_000_000
    app = make_app(make_config(tmp_path), clock=lambda: float(now))
    forms = [now - 5, (now - 5) * 1000, "2025-11-13T02:13:15Z"]
    async with serve(app) as http:
        for i, ts in enumerate(forms):
            r = await post(http, alert(id=f"t{i}", timestamp=ts))
            assert r.status_code == 200, r.text


async def test_unknown_account_is_422_and_a_named_account_is_used(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        bad = await post(http, alert(account="nope"))
        spare = await post(http, alert(account="spare", id="s"))
    assert bad.status_code == 422
    assert (answer(bad)["status"], answer(bad)["reason"]) == ("rejected", "unknown_account")
    assert answer(spare)["order"]["account"] == "spare"
    assert answer(spare)["order"]["exchange"] == "kraken"


async def test_rate_limited_is_429_per_source(tmp_path: Path) -> None:
    config = make_config(tmp_path, rateLimit={"requestsPerMinute": 2})
    app = make_app(config)
    async with serve(app) as http:
        codes = [(await post(http, alert(id=f"r{i}"))).status_code for i in range(3)]
        limited = await post(http, alert(id="r9"))
    assert codes == [200, 200, 429]
    assert (answer(limited)["status"], answer(limited)["reason"]) == ("rejected", "rate_limited")


async def test_suspended_is_503_and_audited(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, suspend=True))
    async with serve(app) as http:
        r = await post(http, alert(id="k1"))
    assert r.status_code == 503
    assert (answer(r)["status"], answer(r)["reason"]) == ("rejected", "suspended")
    (event,) = audit_lines(tmp_path / "audit.jsonl")
    assert (event["decision"], event["reason"], event["signal_id"]) == (
        "rejected",
        "suspended",
        "k1",
    )
