"""A trading ``fks-executor`` process (dryRun false) against the fake exchange process.

Real parts only: the executor is started from a config file, its account's ``endpoint`` is the
fake exchange, ccxt runs unchanged (rate limiter off through the account options, a 1 s
request timeout and a 2 s ``recvWindow``, so an order whose answer is lost is settled within
3 s), the journal is SQLite in the test's directory.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.harness.fake_exchange import FakeExchange
from tests.harness.procs import REPO, ManagedProcess, free_port, http_ok
from tests.integration.executor.helpers import EXECUTOR, SECRET, Executor, alert, merge

__all__ = [
    "AUTH",
    "SECRET",
    "Executor",
    "alert",
    "audit",
    "executor_config",
    "metric",
    "outcome_of",
    "post_together",
    "start_executor",
    "trading_executor",
    "wait_for",
]

AUTH = {"Authorization": f"Bearer {SECRET}"}
ACCOUNT_ENV = {"FKS_FAKE_API_KEY": "", "FKS_FAKE_SECRET": ""}


def executor_config(
    directory: Path, fx: FakeExchange, changes: dict[str, Any] | None = None
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pipeline": "exec-it",
        "dryRun": False,
        "listen": {"host": "127.0.0.1"},
        "responseDeadlineSeconds": 2.0,
        "webhook": {"auth": "hmac-or-token", "secretEnv": "FKS_WEBHOOK_SECRET"},
        "accounts": [
            {
                "name": "main",
                "exchange": "binance",
                "environment": "testnet",
                "marketType": "spot",
                "apiKeyEnv": "FKS_FAKE_API_KEY",
                "secretEnv": "FKS_FAKE_SECRET",
                "endpoint": fx.base_url,
                "options": {"enableRateLimit": "false", "timeout": "1000", "recvWindow": "2000"},
            }
        ],
        "risk": {
            "sizing": {"method": "fixed-notional", "notionalUSD": 100},
            "maxPositionSizeUSD": 100_000,
            "maxOrderSizeUSD": 100_000,
        },
        "rateLimit": {"requestsPerMinute": 10_000},
        "circuitBreaker": {"failureThreshold": 5, "resetTimeoutSeconds": 60},
        "state": {"backend": "memory", "journalPath": str(directory / "journal.db")},
        "audit": {"path": str(directory / "audit.jsonl")},
    }
    return merge(base, changes or {})


def start_executor(
    directory: Path,
    fx: FakeExchange,
    changes: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    name: str = "trading-executor",
    port: int | None = None,
) -> Executor:
    """Start one executor (the caller stops it: ``ex.process.stop()`` or ``kill9()``)."""
    port = port or free_port()
    data = executor_config(directory, fx, changes)
    data["listen"]["port"] = port
    path = directory / f"executor-{port}.json"
    path.write_text(json.dumps(data))  # YAML is a superset of JSON
    full_env = {
        "FKS_WEBHOOK_SECRET": SECRET,
        "FKS_FAKE_API_KEY": fx.api_key,
        "FKS_FAKE_SECRET": fx.secret,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    proc = ManagedProcess(name, [EXECUTOR, "--config", str(path)], env=full_env, cwd=REPO)
    ex = Executor(proc, port, path)
    proc.wait_ready(lambda: http_ok(f"{ex.url}/health"), timeout=30)
    if not data["dryRun"]:
        wait_for(lambda: ex.get("/ready").status_code == 200, what="markets loaded", timeout=20)
    return ex


@contextlib.contextmanager
def trading_executor(
    directory: Path,
    fx: FakeExchange,
    changes: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    name: str = "trading-executor",
) -> Iterator[Executor]:
    ex = start_executor(directory, fx, changes, env=env, name=name)
    try:
        yield ex
    finally:
        ex.process.stop()


def wait_for(check: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def outcome_of(ex: Executor, signal_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
    """The recorded outcome of a signal, once it is finished (``/signals/{id}``)."""
    record: dict[str, Any] = {}

    def finished() -> bool:
        nonlocal record
        r = ex.get(f"/signals/{signal_id}", **AUTH)
        record = r.json() if r.status_code == 200 else {}
        return bool(record.get("finished"))

    wait_for(finished, what=f"signal {signal_id} to finish", timeout=timeout)
    outcome: dict[str, Any] = record["outcome"]
    return outcome


def audit(directory: Path) -> list[dict[str, Any]]:
    path = directory / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric(ex: Executor, sample: str) -> float | None:
    """The value of one sample in ``/metrics`` (``name{labels}`` exactly as exposed)."""
    for line in ex.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def post_together(targets: list[Executor], body: bytes) -> list[httpx.Response]:
    """Post the same body to every executor at the same moment (threads behind a barrier)."""
    barrier = threading.Barrier(len(targets))
    answers: list[httpx.Response | None] = [None] * len(targets)

    def send(i: int, ex: Executor) -> None:
        with httpx.Client(timeout=30) as client:
            client.get(f"{ex.url}/health")  # connection warmed up before the barrier
            barrier.wait()
            answers[i] = client.post(f"{ex.url}/webhook/tradingview", content=body)

    threads = [threading.Thread(target=send, args=(i, ex)) for i, ex in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]
