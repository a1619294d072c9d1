"""The executor's ASGI app besides the webhook: the admin signal lookup, health and readiness,
metrics and the audit trail."""

from __future__ import annotations

import json
from pathlib import Path

from fks_executor.auth import sign
from tests.unit.executor.helpers import (
    SECRET,
    SlowExecutor,
    alert,
    make_app,
    make_config,
    serve,
)
from tests.unit.executor.webhook_client import post

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
