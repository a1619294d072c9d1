"""The webhook through the ASGI app: every intake row of the SPEC §3 answer table, the admin
endpoint, readiness, metrics and the audit trail."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from fks_executor.auth import sign
from fks_executor.domain import Outcome, Signal
from fks_executor.errors import ExchangeUnavailable, InsufficientFunds
from fks_executor.exchange.errors import OrderOutcomeUnknown
from tests.unit.executor.helpers import (
    SECRET,
    SlowExecutor,
    alert,
    audit_lines,
    make_app,
    make_config,
    raw,
    serve,
)


def answer(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) >= {"status", "reason", "signal_id", "order"}, body
    return body


async def post(http: Any, body: bytes | dict[str, Any], **headers: str) -> Any:
    content = raw(body) if isinstance(body, dict) else body
    return await http.post("/webhook/tradingview", content=content, headers=headers)


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


# --- the execution seam -----------------------------------------------------------------


class RefusingExecutor(SlowExecutor):
    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        raise InsufficientFunds("not enough USDT")


class FlakyExecutor(SlowExecutor):
    """The exchange is unreachable on the first attempt only (``unsettled``: after an order
    request went out whose fate could not be established)."""

    def __init__(self, unsettled: bool = False) -> None:
        super().__init__()
        self.unsettled = unsettled
        self.attempts: list[tuple[bool, float | None]] = []

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.attempts.append((resume, attempted_at))
        if len(self.attempts) == 1:
            if self.unsettled:
                raise OrderOutcomeUnknown("lookups failed", client_order_id="c", symbol="BTC/USDT")
            raise ExchangeUnavailable("binance: timed out after 3 tries")
        return Outcome(status="executed", signal_id=signal.signal_id, order={"id": "ex-2"})


class CrashingExecutor(SlowExecutor):
    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        raise RuntimeError("boom: internal detail with /some/path")


async def test_executor_refusal_is_answered_and_recorded(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), executor=RefusingExecutor())
    async with serve(app) as http:
        r = await post(http, alert(id="f1"))
        dup = await post(http, alert(id="f1"))
    assert r.status_code == 422
    assert (answer(r)["reason"], answer(r)["detail"]) == ("insufficient_funds", "not enough USDT")
    assert answer(dup)["first"]["reason"] == "insufficient_funds"


@pytest.mark.parametrize("unsettled", [False, True])
async def test_a_redelivery_after_a_503_is_a_new_attempt(tmp_path: Path, unsettled: bool) -> None:
    """TradingView resends after a 5xx: the resend retries; when the failed attempt may have
    left an order behind, it tells the executor to look it up first."""
    executor = FlakyExecutor(unsettled)
    app = make_app(make_config(tmp_path), executor=executor)
    body = raw(alert(id="flaky"))
    async with serve(app) as http:
        before = time.time()
        first = await post(http, body)
        failed_by = time.time()
        second = await post(http, body)
        third = await post(http, body)
        record = (
            await http.get("/signals/flaky", headers={"Authorization": f"Bearer {SECRET}"})
        ).json()
    assert (first.status_code, answer(first)["reason"]) == (503, "exchange_unavailable")
    assert (second.status_code, answer(second)["status"]) == (200, "executed")
    assert answer(third)["status"] == "duplicate"
    assert len(executor.attempts) == 2
    assert executor.attempts[0] == (False, None)
    resume, attempted_at = executor.attempts[1]
    assert resume is unsettled
    if unsettled:  # look up, and wait for a request the failed attempt may have sent
        assert attempted_at is not None
        assert before <= attempted_at <= failed_by
    else:  # nothing can exist: send at once
        assert attempted_at is None
    assert record["attempts"] == 2
    events = audit_lines(tmp_path / "audit.jsonl")
    assert [(e["decision"], e.get("attempt")) for e in events] == [
        ("accepted", None),
        ("failed", None),
        ("accepted", 2),
        ("executed", None),
        ("duplicate", None),
    ]


async def test_an_internal_error_is_500_without_a_trace(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), executor=CrashingExecutor())
    async with serve(app) as http:
        r = await post(http, alert(id="crash"))
    assert r.status_code == 500
    assert answer(r)["reason"] == "internal_error"
    assert "boom" not in r.text
    assert "/some/path" not in r.text
    assert "Traceback" not in r.text


# --- admin, health, readiness, metrics, audit -------------------------------------------


async def test_signal_lookup_auth(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        await post(http, alert(id="look"))
        bearer = await http.get("/signals/look", headers={"Authorization": f"Bearer {SECRET}"})
        signed = await http.get(
            "/signals/look", headers={"X-Webhook-Signature": sign(b"/signals/look", SECRET)}
        )
        anonymous = await http.get("/signals/look")
        wrong = await http.get("/signals/look", headers={"Authorization": "Bearer nope"})
        missing = await http.get("/signals/nothing", headers={"Authorization": f"Bearer {SECRET}"})
    assert bearer.status_code == signed.status_code == 200
    record = bearer.json()
    assert record["state"] == "done"
    assert record["outcome"]["status"] == "dry_run"
    assert record["signal"]["symbol"] == "BTCUSDT"
    assert "passphrase" not in bearer.text
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert missing.status_code == 404
    assert missing.json()["reason"] == "unknown_signal"


async def test_health_ready_and_unknown_routes(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        health = await http.get("/health")
        ready = await http.get("/ready")
        nowhere = await http.get("/nowhere")
        wrong_method = await http.get("/webhook")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "mode": "dry-run",
        "checks": {"config": True, "journal": True},
    }
    assert (nowhere.status_code, wrong_method.status_code) == (404, 405)
    assert nowhere.json()["reason"] == "not_found"


async def test_ready_includes_the_executors_checks(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path), executor=SlowExecutor())
    async with serve(app) as http:
        ready = (await http.get("/ready")).json()
    assert ready["checks"]["markets:main"] is True


SPEC_METRICS = [
    "fks_webhook_requests_total",
    "fks_webhook_duration_seconds",
    "fks_webhook_signature_failures_total",
    "fks_webhook_validation_failures_total",
    "fks_order_executions_total",
    "fks_order_failures_total",
    "fks_lost_trades_total",
    "fks_order_duration_seconds",
    "fks_rate_limit_rejections_total",
    "fks_circuit_breaker_state",
    "fks_audit_events_total",
    "fks_signals_inflight",
]


async def test_metrics_have_the_spec_names_and_count_answers(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path, rateLimit={"requestsPerMinute": 6}))
    async with serve(app) as http:
        await post(http, alert(id="m1"))
        await post(http, alert(id="m1"))
        await post(http, alert(passphrase="bad"))
        await post(http, b"nope")
        await post(http, alert(timestamp=1))
        await post(http, alert(id="m2"))
        await post(http, alert(id="m3"))  # the 7th request: rate limited
        text = (await http.get("/metrics")).text
    for name in SPEC_METRICS:
        assert f"# HELP {name} " in text, name

    def value(sample: str) -> float:
        line = next(line for line in text.splitlines() if line.startswith(sample + " "))
        return float(line.rsplit(" ", 1)[1])

    assert value('fks_webhook_requests_total{pipeline="unit",reason="",status="dry_run"}') == 2
    assert value('fks_webhook_requests_total{pipeline="unit",reason="",status="duplicate"}') == 1
    assert value("fks_webhook_signature_failures_total") == 1
    assert value('fks_webhook_validation_failures_total{reason="invalid_json"}') == 1
    assert value('fks_webhook_validation_failures_total{reason="stale"}') == 1
    assert value("fks_rate_limit_rejections_total") == 1
    assert value('fks_circuit_breaker_state{account="main"}') == 0
    # (fks_order_* are the exchange layer's: tests/integration/execution/test_answers.py)
    assert value('fks_audit_events_total{type="accepted"}') == 2
    assert value("fks_signals_inflight") == 0
    assert value("fks_webhook_duration_seconds_count") == 7


async def test_audit_lines_have_the_contract_fields_and_no_secret(tmp_path: Path) -> None:
    app = make_app(make_config(tmp_path))
    async with serve(app) as http:
        await post(http, alert(id="au1"))
        await post(http, alert(id="au2", passphrase="a-wrong-guess-of-the-secret"))
        await post(http, alert(id="au3", stoploss=1))
        metrics = (await http.get("/metrics")).text
    text = (tmp_path / "audit.jsonl").read_text()
    assert SECRET not in text
    assert SECRET not in metrics
    assert "a-wrong-guess-of-the-secret" not in text
    events = [json.loads(line) for line in text.splitlines()]
    fields = [
        "time",
        "pipeline",
        "signal_id",
        "account",
        "symbol",
        "decision",
        "reason",
        "order_id",
    ]
    for event in events:
        assert list(event)[:8] == fields
        assert event["pipeline"] == "unit"
        assert event["time"].endswith("Z")
    assert [(e["decision"], e["reason"]) for e in events] == [
        ("accepted", None),
        ("dry_run", None),
        ("rejected", "invalid_signature"),
        ("rejected", "invalid_payload"),
    ]
    assert events[1]["order_id"].startswith("dry-fks-")
    assert events[0]["account"] == "main"
    assert events[0]["symbol"] == "BTCUSDT"
