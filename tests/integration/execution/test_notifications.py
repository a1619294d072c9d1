"""Notifications (docs/notifications.md) from a trading ``fks-executor`` process against the
fake exchange process, delivered to local receivers that speak Slack's, Discord's,
Telegram's and a plain webhook's API (tests/harness/receivers.py). Each test checks what the
receiver got AND what the alert's answer and the venue say: a notification never replaces,
delays or fails the order it reports."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.harness.procs import free_port
from tests.harness.receivers import KINDS, TELEGRAM_CHAT, Receiver, receiver

from .helpers import Executor, alert, audit, executor_config, metric, start_executor, wait_for
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest

ALL_EVENTS = [
    "order_filled",
    "order_refused",
    "order_failed",
    "protection_failed",
    "circuit_open",
    "daily_loss_limit",
    "suspended",
    "live_order",
]


def notification(rx: Receiver, events: list[str] | None = None) -> tuple[dict[str, Any], str]:
    """The config entry sending to ``rx`` and the name of the variable holding its secret."""
    name = f"to-{rx.kind}"
    env = "FKS_NOTIFY_" + name.upper().replace("-", "_")
    entry: dict[str, Any] = {
        "name": name,
        "type": rx.kind,
        "secretEnv": env,
        "events": events or ALL_EVENTS,
    }
    if rx.kind == "telegram":
        entry |= {"chatId": TELEGRAM_CHAT, "endpoint": rx.base_url}
    return entry, env


def notifying_executor(
    directory: Path,
    fx: FakeExchange,
    receivers: list[Receiver],
    changes: dict[str, Any] | None = None,
    *,
    name: str,
    events: list[str] | None = None,
) -> Executor:
    entries, env = [], {}
    for rx in receivers:
        entry, var = notification(rx, events)
        entries.append(entry)
        env[var] = rx.secret
    return start_executor(
        directory, fx, {**(changes or {}), "notifications": entries}, env=env, name=name
    )


def executor_config_account(fx: FakeExchange) -> dict[str, Any]:
    """The default account of the execution tests' config (binance spot on ``fx``)."""
    account: dict[str, Any] = executor_config(Path("."), fx)["accounts"][0]
    return account


def assert_no_secret(ex: Executor, directory: Path, receivers: list[Receiver]) -> None:
    """No URL or bot token in the executor's log, its audit trail or its metrics."""
    places = {
        "log": ex.process.output(),
        "audit": (directory / "audit.jsonl").read_text(),
        "metrics": ex.get("/metrics").text,
    }
    for rx in receivers:
        for where, text in places.items():
            assert rx.token not in text, f"{rx.kind} secret in the executor's {where}"


def sent(ex: Executor, name: str, event: str) -> float:
    labels = f'event="{event}",notification="{name}",result="sent"'
    return metric(ex, f"fks_notifications_total{{{labels}}}") or 0.0


# --- every venue, every type ------------------------------------------------------------------


@pytest.fixture(scope="module")
def receivers() -> Iterator[list[Receiver]]:
    with ExitStack() as stack:
        yield [stack.enter_context(receiver(kind)) for kind in KINDS]


@pytest.fixture(scope="module")
def workdir(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(f"notify-{venue.name}")


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, workdir: Path, receivers: list[Receiver]
) -> Iterator[Executor]:
    changes = {"accounts": [venue.account(venue_server)]}
    executor = notifying_executor(
        workdir, venue_server, receivers, changes, name=f"notify-{venue.name}"
    )
    yield executor
    executor.process.stop()


def test_a_filled_order_reaches_every_type(
    ex: Executor, venue: Venue, fx: FakeExchange, receivers: list[Receiver], workdir: Path
) -> None:
    before = {rx.kind: len(rx.messages()) for rx in receivers}
    answer = ex.post(alert(id=f"nt-fill-{venue.name}", amount=venue.amount))
    assert answer.status_code == 200, answer.text
    order = answer.json()["order"]
    assert order["status"] == "closed"
    (placed,) = venue.orders(fx, client_order_id=order["client_order_id"])
    assert str(placed["orderId"]) == order["id"]
    for rx in receivers:
        message = rx.wait(before[rx.kind] + 1)[-1]
        assert "order filled" in message.text, (rx.kind, message.text)
        assert f"order {order['id']}" in message.text
        assert "main" in message.text
        assert order["symbol"] in message.text
        if rx.kind == "webhook":
            assert message.body["event"] == "order_filled"
            assert message.body["order_id"] == order["id"]
            assert message.body["signal_id"] == f"nt-fill-{venue.name}"
        if rx.kind == "telegram":
            assert message.body["chat_id"] == TELEGRAM_CHAT
    for rx in receivers:
        wait_for(lambda rx=rx: sent(ex, f"to-{rx.kind}", "order_filled") >= 1, what="metric")
    assert_no_secret(ex, workdir, receivers)


def test_a_refused_alert_is_notified_and_nothing_is_traded(
    ex: Executor, venue: Venue, fx: FakeExchange, receivers: list[Receiver]
) -> None:
    fx.add_fault("reject", method="POST", path=venue.order_path, preset=venue.funds_preset)
    before = {rx.kind: len(rx.messages()) for rx in receivers}
    answer = ex.post(alert(id=f"nt-refused-{venue.name}", amount=venue.amount))
    assert (answer.status_code, answer.json()["reason"]) == (422, "insufficient_funds")
    assert venue.orders(fx) == []
    for rx in receivers:
        message = rx.wait(before[rx.kind] + 1)[-1]
        assert "alert refused: insufficient_funds" in message.text, (rx.kind, message.text)
        assert f"signal nt-refused-{venue.name}" in message.text


# --- delivery: one venue (what is tested is the notifier, not the venue) -----------------------


def _answer_times(ex: Executor, prefix: str, count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        answer = ex.post(alert(id=f"{prefix}-{i}", amount=0.001))
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return times


def test_unreachable_receivers_do_not_delay_the_order(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    """A closed port and a receiver that accepts and never answers: every alert is answered
    as fast as with no notifications at all, and every order reaches the venue."""
    (tmp_path / "base").mkdir()
    (tmp_path / "slow").mkdir()
    base = start_executor(tmp_path / "base", fake_exchange, name="notify-baseline")
    try:
        _answer_times(base, "nt-warm-base", 2)
        baseline = _answer_times(base, "nt-base", 5)
    finally:
        base.process.stop()
    closed = Receiver("webhook", port=free_port())  # nothing listens there
    with receiver("slack", hang=30) as hanging:
        ex = notifying_executor(
            tmp_path / "slow", fake_exchange, [closed, hanging], name="notify-unreachable"
        )
        try:
            _answer_times(ex, "nt-warm", 2)
            times = _answer_times(ex, "nt-slow", 5)
            assert ex.get("/health").status_code == 200
            assert len(hanging.received) == 0  # still hanging on the first one
        finally:
            ex.process.stop()
    print(
        f"\nanswer time, median/max: no notifications {statistics.median(baseline) * 1000:.1f}/"
        f"{max(baseline) * 1000:.1f} ms; closed port + hanging receiver "
        f"{statistics.median(times) * 1000:.1f}/{max(times) * 1000:.1f} ms"
    )
    # A notification on the order path would add seconds (the 2 s connect timeout, the
    # hanging receiver's 30 s); the margins only absorb this shared machine's noise.
    assert max(times) < max(baseline) + 0.5
    assert statistics.median(times) < statistics.median(baseline) + 0.25
    assert fake_exchange.order_count() == 2 + 5 + 2 + 5


def test_retries_on_5xx_and_429_honour_retry_after(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    with ExitStack() as stack:
        webhook = stack.enter_context(receiver("webhook", script=[(500, None), (503, None)]))
        discord = stack.enter_context(receiver("discord", script=[(429, 1.5)]))
        telegram = stack.enter_context(receiver("telegram", script=[(429, 1.5)]))
        slack = stack.enter_context(receiver("slack", script=[(429, 1.5)]))
        rxs = [webhook, discord, telegram, slack]
        ex = notifying_executor(
            tmp_path, fake_exchange, rxs, name="notify-retries", events=["order_filled"]
        )
        try:
            answer = ex.post(alert(id="nt-retry", amount=0.001))
            assert answer.status_code == 200
            assert fake_exchange.order_count() == 1
            for rx in rxs:
                (message,) = rx.wait(1)
                assert "order filled" in message.text
            assert [r.status for r in webhook.received] == [500, 503, 200]
            for rx in (discord, telegram, slack):
                first, second = rx.received
                assert (first.status, second.status // 100) == (429, 2)
                assert second.at - first.at >= 1.5, rx.kind  # Retry-After honoured
            # (the receiver records a request before it answers: the executor counts after)
            wait_for(lambda: sent(ex, "to-discord", "order_filled") == 1, what="sent metric")
            assert metric(ex, 'fks_notification_retries_total{notification="to-webhook"}') == 2
            assert_no_secret(ex, tmp_path, rxs)
        finally:
            ex.process.stop()


def test_a_final_refusal_is_not_retried(tmp_path: Path, fake_exchange: FakeExchange) -> None:
    """A wrong bot token (401) or a deleted webhook (404) is final: one request, counted
    failed, the order unaffected."""
    with receiver("telegram") as telegram:
        wrong = Receiver("telegram", port=telegram.port)  # another token, same server
        ex = notifying_executor(tmp_path, fake_exchange, [wrong], name="notify-final")
        try:
            answer = ex.post(alert(id="nt-final", amount=0.001))
            assert answer.status_code == 200
            labels = 'event="order_filled",notification="to-telegram",result="failed"'
            wait_for(lambda: metric(ex, f"fks_notifications_total{{{labels}}}") == 1, what="failed")
            assert [r.status for r in telegram.received] == [401]
            assert wrong.token not in ex.process.output()
        finally:
            ex.process.stop()
    assert fake_exchange.order_count() == 1


def test_circuit_open_and_failed_orders(tmp_path: Path, fake_exchange: FakeExchange) -> None:
    with receiver("webhook") as rx:
        changes = {"circuitBreaker": {"failureThreshold": 1, "resetTimeoutSeconds": 60}}
        ex = notifying_executor(tmp_path, fake_exchange, [rx], changes, name="notify-breaker")
        try:
            fake_exchange.add_fault("http_error", path="/api/v3/*", status=502, count=1000)
            answer = ex.post(alert(id="nt-cb", amount=0.001))
            assert (answer.status_code, answer.json()["reason"]) == (503, "exchange_unavailable")
            messages = rx.wait(2)
            events = sorted(m.body["event"] for m in messages)
            assert events == ["circuit_open", "order_failed"]
            opened = next(m for m in messages if m.body["event"] == "circuit_open")
            assert (opened.body["account"], opened.body["reason"]) == ("main", "open")
            lines = [a for a in audit(tmp_path) if a["decision"] == "circuit_breaker"]
            assert [(a["account"], a["reason"]) for a in lines] == [("main", "open")]
        finally:
            ex.process.stop()
    assert fake_exchange.order_count() == 0


def test_suspended_alerts_are_notified(tmp_path: Path, fake_exchange: FakeExchange) -> None:
    with receiver("discord") as rx:
        ex = notifying_executor(
            tmp_path, fake_exchange, [rx], {"suspend": True}, name="notify-suspended"
        )
        try:
            answer = ex.post(alert(id="nt-suspended", amount=0.001))
            assert (answer.status_code, answer.json()["reason"]) == (503, "suspended")
            (message,) = rx.wait(1)
            assert "suspended (kill switch)" in message.text
            assert "signal nt-suspended" in message.text
        finally:
            ex.process.stop()
    assert fake_exchange.stats()["orderRequests"] == 0


def test_an_order_to_a_live_account_is_notified(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    """A live account (here: the fake exchange as its endpoint) gets live_order before the
    order is sent, then order_filled; the testnet accounts of the other tests never do."""
    with receiver("webhook") as rx:
        live = {"environment": "live"}
        changes = {"accounts": [{**executor_config_account(fake_exchange), **live}]}
        ex = notifying_executor(tmp_path, fake_exchange, [rx], changes, name="notify-live")
        try:
            answer = ex.post(alert(id="nt-live", amount=0.001))
            assert answer.status_code == 200, answer.text
            order = answer.json()["order"]
            assert fake_exchange.orders(client_order_id=order["client_order_id"])
            live_order, filled = rx.wait(2)
            assert live_order.body["event"] == "live_order"
            assert "live order sent - main BTC/USDT (market buy 0.001" in live_order.text
            assert live_order.body["order_id"] == order["client_order_id"]
            assert filled.body["event"] == "order_filled"
        finally:
            ex.process.stop()
