"""Replicas sharing one real Redis: a signal sent to two executors at the same moment is one
order; a replica killed mid-order has its signal finished by another (once); the daily loss
limit counts every replica's fills."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.harness.fake_exchange import FakeExchange

from .helpers import alert, audit, outcome_of, post_together, start_executor, wait_for


def redis_changes(fx: FakeExchange, **extra: Any) -> dict[str, Any]:
    return {
        "state": {
            "backend": "redis",
            "redisUrlEnv": "FKS_REDIS_URL",
            "journalPath": "",
            "leaseSeconds": 2,
        },
        **extra,
    }


def test_one_signal_at_two_replicas_at_once_is_one_order(
    tmp_path: Path, fake_exchange: FakeExchange, redis_url: str
) -> None:
    env = {"FKS_REDIS_URL": redis_url}
    a = start_executor(tmp_path, fake_exchange, redis_changes(fake_exchange), env=env, name="a")
    b = start_executor(tmp_path, fake_exchange, redis_changes(fake_exchange), env=env, name="b")
    try:
        for i in range(5):
            body = json.dumps(alert(id=f"both-{i}", amount=0.001)).encode()
            answers = post_together([a, b], body)
            statuses = sorted(r.json()["status"] for r in answers)
            assert statuses == ["duplicate", "executed"], [r.json() for r in answers]
            assert fake_exchange.order_count() == i + 1
        assert fake_exchange.stats()["orderRequests"] == 5
        log = a.process.output()
    finally:
        a.process.stop()
        b.process.stop()
    assert "Redis runs without appendonly (AOF)" in log  # the test Redis persists nothing
    assert redis_url not in log


def test_a_killed_replicas_signal_is_finished_by_another(
    tmp_path: Path, fake_exchange: FakeExchange, redis_url: str
) -> None:
    env = {"FKS_REDIS_URL": redis_url}
    slow = {
        "responseDeadlineSeconds": 0.2,
        "accounts": [
            {
                "name": "main",
                "exchange": "binance",
                "environment": "testnet",
                "apiKeyEnv": "FKS_FAKE_API_KEY",
                "secretEnv": "FKS_FAKE_SECRET",
                "endpoint": fake_exchange.base_url,
                "options": {"enableRateLimit": "false", "timeout": "10000", "recvWindow": "2000"},
            }
        ],
    }
    changes = redis_changes(fake_exchange, **slow)
    a = start_executor(tmp_path, fake_exchange, changes, env=env, name="doomed-replica")
    b = start_executor(tmp_path, fake_exchange, changes, env=env, name="survivor")
    try:
        fake_exchange.add_fault("lost_answer", method="POST", path="/api/v3/order", hangMs=30_000)
        r = a.post(alert(id="orphan", amount=0.001))
        assert (r.status_code, r.json()["status"]) == (202, "accepted")
        wait_for(lambda: fake_exchange.order_count() == 1, what="the order on the exchange")
        a.process.kill9()
        a.process.stop()
        killed = time.monotonic()
        # meanwhile a redelivery to the survivor is a duplicate (the signal is owned)
        dup = b.post(alert(id="orphan", amount=0.001))
        assert dup.json()["status"] == "duplicate"
        outcome = outcome_of(b, "orphan", timeout=30)
        taken_after = time.monotonic() - killed
        log = b.process.output()
    finally:
        a.process.stop()
        b.process.stop()
    assert outcome["status"] == "executed"
    assert "not sent again" in outcome["detail"]
    assert 1.0 < taken_after < 15  # the lease (2 s) had to lapse first
    assert "resuming 1 unfinished signal(s)" in log
    stats = fake_exchange.stats()
    assert (stats["orderRequests"], fake_exchange.order_count()) == (1, 1)
    recovered = [e for e in audit(tmp_path) if e.get("reason") == "recovered"]
    assert [e["signal_id"] for e in recovered] == ["orphan"]


def test_the_daily_loss_limit_counts_every_replicas_fills(
    tmp_path: Path, fake_exchange: FakeExchange, redis_url: str
) -> None:
    env = {"FKS_REDIS_URL": redis_url}
    changes = redis_changes(fake_exchange, risk={"dailyLossLimitUSD": 20})
    a = start_executor(tmp_path, fake_exchange, changes, env=env, name="a")
    b = start_executor(tmp_path, fake_exchange, changes, env=env, name="b")
    try:
        fake_exchange.set_balances({"BTC": 0})
        assert a.post(alert(id="loss-buy", amount=0.01)).json()["status"] == "executed"
        fake_exchange.set_price("BTC/USDT", 60_000)  # about -80 USD on 0.01 BTC
        closed = b.post(alert(id="loss-close", action="close", price=None))
        assert closed.json()["status"] == "executed"
        refused = a.post(alert(id="loss-again", amount=0.001, price=None))
        assert (refused.status_code, refused.json()["reason"]) == (422, "risk_limit")
        assert "dailyLossLimitUSD reached" in refused.json()["detail"]
        # a close is still allowed
        fake_exchange.set_balances({"BTC": "0.001"})
        assert b.post(alert(id="loss-close-2", action="close")).json()["status"] == "executed"
    finally:
        a.process.stop()
        b.process.stop()
