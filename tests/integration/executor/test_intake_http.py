"""Every intake row of the SPEC §3 answer table, against ``fks-executor`` as a real process
(uvicorn, uvloop, httptools) started from a config file, over real HTTP."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fks_executor.auth import sign
from tests.integration.executor.helpers import SECRET, Executor, alert, running_executor


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("executor")


@pytest.fixture(scope="module")
def ex(workdir: Path) -> Iterator[Executor]:
    """One executor, audit to a file, for the rows that need no special config."""
    with running_executor(workdir, {"audit": {"path": str(workdir / "audit.jsonl")}}) as ex:
        yield ex


def row(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()
    return response.status_code, body["status"], body["reason"]


def test_dry_run_executed(ex: Executor) -> None:
    r = ex.post(alert(id="int-1"))
    assert row(r) == (200, "dry_run", None)
    order = r.json()["order"]
    assert (order["symbol"], order["price"], order["dry_run"]) == ("BTC/USDT", 68000, True)


def test_tradingview_style_text_plain_with_placeholders_filled(ex: Executor) -> None:
    body = (
        '{"symbol": "BINANCE:ETHUSDT", "action": "Long", "price": "2500.5", '
        f'"time": "{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}", '
        f'"passphrase": "{SECRET}", "comment": "tv"}}'
    )
    r = httpx.post(
        f"{ex.url}/webhook",
        content=body.encode(),
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert row(r) == (200, "dry_run", None)
    assert r.json()["order"]["symbol"] == "ETH/USDT"  # resolved through the loaded markets
    perpetual = alert(id="int-perp", symbol="BINANCE:ETHUSDT.P")  # a spot account has none
    assert row(ex.post(perpetual)) == (422, "rejected", "symbol_not_allowed")


def test_hmac_signed(ex: Executor) -> None:
    body = json.dumps(alert(id="int-hmac", passphrase=None)).encode()
    assert row(ex.post(body, **{"X-Signature": "sha256=" + sign(body, SECRET)}))[0] == 200


def test_duplicate(ex: Executor) -> None:
    body = json.dumps(alert()).encode()
    first = ex.post(body)
    second = ex.post(body)
    assert row(first) == (200, "dry_run", None)
    assert row(second) == (200, "duplicate", None)
    assert second.json()["signal_id"] == hashlib.sha256(body).hexdigest()
    assert second.json()["first"] == first.json()


def test_low_confidence(ex: Executor) -> None:
    assert row(ex.post(alert(id="int-lc", confidence=0.1))) == (200, "ignored", "low_confidence")


def test_bad_signature_or_token(ex: Executor) -> None:
    assert row(ex.post(alert(passphrase="guess"))) == (401, "rejected", "invalid_signature")
    body = json.dumps(alert(passphrase=None)).encode()
    assert row(ex.post(body, **{"X-Webhook-Signature": "ab" * 32})) == (
        401,
        "rejected",
        "invalid_signature",
    )


def test_not_json(ex: Executor) -> None:
    assert row(ex.post(b"{{ticker}} crossed up")) == (400, "rejected", "invalid_json")


def test_body_too_large(ex: Executor) -> None:
    big = json.dumps(alert(comment=None, pad="x" * (64 * 1024))).encode()
    assert row(ex.post(big)) == (413, "rejected", "body_too_large")


def test_body_too_large_chunked_is_refused_while_streaming(ex: Executor) -> None:
    """No Content-Length: the limit is enforced on the stream, not after buffering it."""

    def chunks() -> Iterator[bytes]:
        yield b'{"symbol": "'
        for _ in range(200):  # 200 x 8 KiB = 1.6 MiB, far past the limit
            yield b"A" * 8192

    r = httpx.post(f"{ex.url}/webhook", content=chunks())
    assert row(r) == (413, "rejected", "body_too_large")


def test_schema_violation_names_the_field(ex: Executor) -> None:
    r = ex.post(alert(action="hodl"))
    assert row(r) == (422, "rejected", "invalid_payload")
    assert r.json()["detail"].startswith("action:")
    r = ex.post(alert(take_profit=-1))
    assert r.json()["detail"].startswith("take_profit:")


def test_stale_and_future(ex: Executor) -> None:
    assert row(ex.post(alert(timestamp=int(time.time()) - 3600))) == (422, "rejected", "stale")
    assert row(ex.post(alert(timestamp=int(time.time() + 600) * 1000))) == (
        422,
        "rejected",
        "stale",
    )


def test_unknown_account(ex: Executor) -> None:
    assert row(ex.post(alert(account="other"))) == (422, "rejected", "unknown_account")


def test_garbage_never_gets_a_500(ex: Executor) -> None:
    for body in (b"\x00\xff" * 100, b"[" * 50_000, b'{"a":' * 5000, b"1e999999", b'"\\ud800"'):
        assert ex.post(body).status_code in (400, 401, 422)


def test_a_raw_socket_request_with_a_lying_length_is_refused(ex: Executor) -> None:
    with socket.create_connection(("127.0.0.1", ex.port), timeout=5) as s:
        s.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{}")
        head = s.recv(4096).split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 413 "), head


def test_signal_lookup(ex: Executor) -> None:
    ex.post(alert(id="int-look"))
    r = ex.get("/signals/int-look", Authorization=f"Bearer {SECRET}")
    assert r.status_code == 200
    assert r.json()["outcome"]["status"] == "dry_run"
    signed = ex.get(
        "/signals/int-look", **{"X-Webhook-Signature": sign(b"/signals/int-look", SECRET)}
    )
    assert signed.status_code == 200
    assert ex.get("/signals/int-look").status_code == 401


def test_health_and_ready(ex: Executor) -> None:
    assert ex.get("/health").json() == {"status": "ok"}
    ready = ex.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"config": True, "journal": True}


def test_secret_never_reaches_audit_file_or_metrics(ex: Executor, workdir: Path) -> None:
    ex.post(alert(id="int-secret"))
    ex.post(alert(passphrase=SECRET + "-almost"))
    metrics = ex.get("/metrics").text
    audit = (workdir / "audit.jsonl").read_text()
    assert "fks_webhook_requests_total" in metrics
    assert SECRET not in metrics
    assert SECRET not in audit
    assert SECRET not in ex.process.output()
    events = [json.loads(line) for line in audit.splitlines()]
    assert {"accepted", "dry_run", "rejected", "duplicate", "ignored"} <= {
        e["decision"] for e in events
    }


# --- rows that need their own config ----------------------------------------------------


def test_source_not_allowed(tmp_path: Path) -> None:
    with running_executor(tmp_path, {"webhook": {"allowedSources": ["tradingview"]}}) as ex:
        assert row(ex.post(alert())) == (403, "rejected", "ip_not_allowed")
        # /health and /metrics stay reachable for the cluster
        assert ex.get("/health").status_code == 200


def test_source_through_a_trusted_proxy(tmp_path: Path) -> None:
    changes = {"webhook": {"allowedSources": ["tradingview"], "trustedProxies": ["127.0.0.1/32"]}}
    with running_executor(tmp_path, changes) as ex:
        assert row(ex.post(alert(id="xff"), **{"X-Forwarded-For": "52.32.178.7"}))[0] == 200
        assert row(ex.post(alert(id="xff2"), **{"X-Forwarded-For": "198.51.100.1"}))[0] == 403


def test_rate_limited(tmp_path: Path) -> None:
    with running_executor(tmp_path, {"rateLimit": {"requestsPerMinute": 3}}) as ex:
        codes = [ex.post(alert(id=f"rl-{i}")).status_code for i in range(3)]
        assert codes == [200, 200, 200]
        assert row(ex.post(alert(id="rl-x"))) == (429, "rejected", "rate_limited")
        metrics = ex.get("/metrics").text
    assert "fks_rate_limit_rejections_total 1.0" in metrics


def test_suspended(tmp_path: Path) -> None:
    with running_executor(tmp_path, {"suspend": True}) as ex:
        assert row(ex.post(alert(id="sus"))) == (503, "rejected", "suspended")
        assert ex.get("/ready").json()["mode"] == "suspended"
        out = ex.process.output()
    audit = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(e["decision"], e["reason"], e["signal_id"]) for e in audit] == [
        ("rejected", "suspended", "sus")
    ]


def test_stdout_audit_has_no_secret(tmp_path: Path) -> None:
    with running_executor(tmp_path, {"webhook": {"auth": "token"}}) as ex:
        ex.post(alert(id="so-1"))
        ex.post(alert(passphrase="nope"))
        ex.post(b"junk")
        out = ex.process.output()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [e["decision"] for e in lines] == [
        "accepted",
        "order_sent",
        "order_result",
        "dry_run",
        "rejected",
        "rejected",
    ]
    assert SECRET not in out
