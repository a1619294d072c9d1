"""What each service's API is sent (docs/notifications.md#services), how a 429's wait is
read, the config rules of a destination, and the bounded queue."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from fks_executor.config import ConfigError, NotificationConfig, parse_config, resolve_secrets
from fks_executor.notify.events import Notice
from fks_executor.notify.notifier import Channel, NotifyMetrics
from fks_executor.notify.services import (
    MAX_RETRY_AFTER,
    TELEGRAM_API,
    build_delivery,
    retry_after,
    valid_url,
)

NOTICE = Notice("order_filled", "[p] order filled - main BTC/USDT", {"order_id": "42"})


def target(kind: str, **extra: Any) -> NotificationConfig:
    if kind == "telegram":
        extra.setdefault("chat_id", "-100123")
    return NotificationConfig(name="ops", type=kind, secret_env="FKS_NOTIFY_OPS", **extra)


def test_each_service_gets_its_own_body() -> None:
    url = "https://hooks.example/x"
    assert build_delivery(target("slack"), url, NOTICE).body == {"text": NOTICE.text}
    discord = build_delivery(target("discord"), url, NOTICE)
    assert discord.body == {"content": NOTICE.text, "allowed_mentions": {"parse": []}}
    hook = build_delivery(target("webhook"), url, NOTICE)
    assert (hook.url, hook.body) == (
        url,
        {"event": "order_filled", "text": NOTICE.text, "order_id": "42"},
    )
    tg = build_delivery(target("telegram"), "123:abc", NOTICE)
    assert tg.url == f"{TELEGRAM_API}/bot123:abc/sendMessage"
    assert (tg.body["chat_id"], tg.body["text"]) == ("-100123", NOTICE.text)
    local = build_delivery(target("telegram", endpoint="http://127.0.0.1:8081/"), "1:a", NOTICE)
    assert local.url == "http://127.0.0.1:8081/bot1:a/sendMessage"
    assert "abc" not in repr(tg)


def test_discord_is_cut_to_its_limit() -> None:
    long = Notice("order_failed", "x" * 3000)
    assert len(build_delivery(target("discord"), "https://d/x", long).body["content"]) == 2000


@pytest.mark.parametrize(
    ("headers", "body", "wait"),
    [
        ({"retry-after": "3"}, b"rate_limited", 3.0),  # Slack
        ({"retry-after": "1.5"}, b'{"retry_after": 1.5, "global": false}', 1.5),  # Discord
        ({}, b'{"message": "You are being rate limited.", "retry_after": 0.75}', 0.75),
        ({}, b'{"ok": false, "error_code": 429, "parameters": {"retry_after": 7}}', 7.0),
        ({}, b"not json", None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"", None),
        ({"retry-after": "-1"}, b"", None),
        ({"retry-after": "nan"}, b"", None),
        ({"retry-after": "100000"}, b"", MAX_RETRY_AFTER),
    ],
)
def test_retry_after(headers: dict[str, str], body: bytes, wait: float | None) -> None:
    assert retry_after(headers, body) == wait


def test_valid_url() -> None:
    assert valid_url(target("slack"), "https://hooks.slack.com/services/T/B/x")
    assert not valid_url(target("slack"), "hooks.slack.com/services/T/B/x")
    assert not valid_url(target("webhook"), "https://a b")
    assert valid_url(target("telegram"), "123456:ABC-def")
    assert not valid_url(target("telegram"), "https://api.telegram.org/bot1:a")


BASE: dict[str, Any] = {
    "pipeline": "p",
    "dryRun": True,
    "webhook": {"secretEnv": "W"},
    "accounts": [{"name": "main", "exchange": "binance"}],
}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "telegram"}, "notifications[0].chatId: chatId is required with type telegram"),
        ({"type": "slack", "chatId": "1"}, "notifications[0].chatId: chatId is required"),
        ({"type": "slack", "endpoint": "http://x"}, "notifications[0].endpoint: endpoint is for"),
        ({"type": "slack", "events": []}, "notifications[0].events"),
        ({"type": "slack", "events": ["order_lost"]}, "notifications[0].events[0]"),
        ({"type": "slack", "secretEnv": ""}, "notifications[0].secretEnv"),
    ],
)
def test_config_rules(entry: dict[str, Any], message: str) -> None:
    full = {"name": "ops", "secretEnv": "FKS_NOTIFY_OPS", **entry}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config({**BASE, "notifications": [full]})


def test_duplicate_names_and_missing_variables() -> None:
    entry = {"name": "ops", "type": "slack", "secretEnv": "FKS_NOTIFY_OPS"}
    with pytest.raises(ConfigError, match="the name of an earlier notification again"):
        parse_config({**BASE, "notifications": [entry, entry]})
    config = parse_config({**BASE, "notifications": [entry]})
    with pytest.raises(ConfigError, match="FKS_NOTIFY_OPS is not set"):
        resolve_secrets(config, {"W": "w" * 32})
    secrets = resolve_secrets(config, {"W": "w" * 32, "FKS_NOTIFY_OPS": "https://h/x"})
    assert secrets.notifications["ops"].get_secret_value() == "https://h/x"
    assert "https://h/x" not in repr(secrets)


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    async def scenario() -> tuple[list[str], float]:
        registry = CollectorRegistry()
        metrics = NotifyMetrics(registry)
        async with httpx.AsyncClient() as client:  # (never used: the worker is not started)
            channel = Channel(
                target("webhook", events=["order_filled", "order_failed"]),
                "https://h/x",
                client,
                metrics,
                capacity=2,
            )
            for i in range(4):
                channel.offer(Notice("order_filled", f"n{i}"))
            channel.offer(Notice("circuit_open", "not subscribed"))
            kept = [n.text for n in channel._queue]
        dropped = registry.get_sample_value(
            "fks_notifications_total",
            {"notification": "ops", "event": "order_filled", "result": "dropped"},
        )
        return kept, dropped or 0.0

    kept, dropped = asyncio.run(scenario())
    assert kept == ["n2", "n3"]
    assert dropped == 2
