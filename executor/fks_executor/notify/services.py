"""What each service's API wants (pure): the request for a notice, and how long a 429 asks
to wait (docs/notifications.md#services).

- slack: ``POST <incoming webhook URL>`` ``{"text": ...}``; 200 ``ok``; 429 with Retry-After.
- discord: ``POST <webhook URL>`` ``{"content": ...}``; 204; 429 with a JSON
  ``retry_after`` (seconds) and Retry-After.
- telegram: ``POST <endpoint>/bot<token>/sendMessage`` ``{"chat_id", "text"}``;
  ``{"ok": true, ...}``; 429 with ``parameters.retry_after``.
- webhook: ``POST <URL>`` with the notice as JSON (``event``, ``text`` and the audit fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from fks_executor.config import NotificationConfig
from fks_executor.notify.events import Notice

__all__ = ["TELEGRAM_API", "Delivery", "build_delivery", "retry_after", "valid_url"]

TELEGRAM_API = "https://api.telegram.org"
#: The longest wait a 429 may ask for that is honoured as is (longer: this long, then retry).
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP POST. ``url`` may hold the secret (a webhook URL, a bot token in the path):
    it is never logged, and ``repr`` does not show it."""

    url: str
    body: dict[str, Any]

    def __repr__(self) -> str:
        return "Delivery(url=<secret>, ...)"


def valid_url(target: NotificationConfig, secret: str) -> bool:
    """Whether the secret can be used: an http(s) URL, or (telegram) a token without '/'."""
    if target.type == "telegram":
        return bool(secret) and "/" not in secret and not any(c.isspace() for c in secret)
    return secret.startswith(("https://", "http://")) and not any(c.isspace() for c in secret)


def build_delivery(target: NotificationConfig, secret: str, notice: Notice) -> Delivery:
    if target.type == "slack":
        return Delivery(secret, {"text": notice.text})
    if target.type == "discord":
        # allowed_mentions: a text naming @everyone must not ping the channel
        return Delivery(secret, {"content": notice.text[:2000], "allowed_mentions": {"parse": []}})
    if target.type == "telegram":
        base = (target.endpoint or TELEGRAM_API).rstrip("/")
        return Delivery(
            f"{base}/bot{secret}/sendMessage",
            {"chat_id": target.chat_id, "text": notice.text, "disable_web_page_preview": True},
        )
    return Delivery(secret, {"event": notice.event, "text": notice.text, **notice.fields})


def retry_after(headers: dict[str, str], body: bytes) -> float | None:
    """Seconds a 429 asks to wait: the Retry-After header (Slack, Discord), else the JSON
    body's ``retry_after`` (Discord) or ``parameters.retry_after`` (Telegram); None if none."""
    value: Any = headers.get("retry-after")
    if value is None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if isinstance(data, dict):
            params = data.get("parameters")
            value = data.get("retry_after")
            if value is None and isinstance(params, dict):
                value = params.get("retry_after")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds != seconds or seconds < 0:  # NaN, negative
        return None
    return min(seconds, MAX_RETRY_AFTER)
