"""Which audit lines are notification events, and the message each becomes (pure).

The audit trail (:mod:`fks_executor.audit`) records every decision the executor makes; the
notifier subscribes to it and turns some of its lines into one :class:`Notice` each
(docs/notifications.md#events):

==================  ===================================================================
event               audit line
==================  ===================================================================
order_filled        ``order_result`` whose order status is ``closed`` (filled)
order_refused       ``rejected`` of an authenticated alert (signal id known), other than
                    the two below
daily_loss_limit    ``rejected`` ``risk_limit`` by the daily loss limit
suspended           ``rejected`` ``suspended`` (the kill switch is on)
order_failed        ``failed`` of an accepted alert (signal id known)
circuit_open        ``circuit_breaker`` ``open`` (an account's circuit breaker opened)
live_order          ``order_sent`` on an account whose environment is ``live``
protection_failed   ``protection_failed`` (a protective leg refused or missing after the fill)
==================  ===================================================================

A notice carries the audit line's own fields and text, nothing else: what the audit trail
shows (never a secret, never the alert's raw text) is all a message can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fks_executor.config import NotificationEvent

__all__ = ["DAILY_LOSS_MARKER", "FIELDS", "Notice", "notice_for"]

#: How the daily loss limit's refusal begins (fks_executor.risk.check_daily_loss).
DAILY_LOSS_MARKER = "dailyLossLimitUSD reached"
#: The audit fields a notice carries (the generic webhook's JSON has each of them).
FIELDS = ("time", "pipeline", "signal_id", "account", "symbol", "reason", "order_id")
#: Longest detail text in a message (Discord takes 2,000 characters, Slack's and
#: Telegram's limits are larger).
MAX_DETAIL = 500

_TITLES: dict[NotificationEvent, str] = {
    "order_filled": "order filled",
    "order_refused": "alert refused",
    "order_failed": "order failed",
    "protection_failed": "protection not placed",
    "circuit_open": "circuit breaker open",
    "daily_loss_limit": "daily loss limit reached",
    "suspended": "alert refused: suspended (kill switch)",
    "live_order": "live order sent",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: the event, a one-line text, and the audit line's fields."""

    event: NotificationEvent
    text: str
    fields: Mapping[str, Any] = field(default_factory=dict)


def _event(record: Mapping[str, Any], live_accounts: frozenset[str]) -> NotificationEvent | None:
    decision = record.get("decision")
    reason = record.get("reason")
    known = record.get("signal_id") is not None  # the alert passed authentication
    if decision == "order_result":
        return "order_filled" if reason == "closed" else None
    if decision == "rejected" and known:
        if reason == "suspended":
            return "suspended"
        if reason == "risk_limit" and str(record.get("detail", "")).startswith(DAILY_LOSS_MARKER):
            return "daily_loss_limit"
        return "order_refused"
    if decision == "failed" and known:
        return "order_failed"
    if decision == "circuit_breaker":
        return "circuit_open" if reason == "open" else None
    if decision == "order_sent":
        return "live_order" if record.get("account") in live_accounts else None
    if decision == "protection_failed":
        return "protection_failed"
    return None


def notice_for(
    record: Mapping[str, Any], *, live_accounts: frozenset[str], dry_run: bool
) -> Notice | None:
    """The notice for one audit line, or None when it is no notification event.
    ``live_accounts``: the accounts whose environment is live (``order_sent`` on them is a
    ``live_order``; never in dry-run, where nothing is sent)."""
    event = _event(record, frozenset() if dry_run else live_accounts)
    if event is None:
        return None
    fields = {name: record.get(name) for name in FIELDS}
    where = " ".join(str(v) for v in (record.get("account"), record.get("symbol")) if v)
    text = f"[{record.get('pipeline')}] " + ("(dry-run) " if dry_run else "") + _TITLES[event]
    reason = record.get("reason")
    if reason and event in ("order_refused", "order_failed", "protection_failed"):
        text += f": {reason}"
    if where:
        text += f" - {where}"
    detail = record.get("detail")
    if detail:
        detail = str(detail)
        text += f" ({detail[:MAX_DETAIL]}{'...' if len(detail) > MAX_DETAIL else ''})"
    if record.get("order_id"):
        text += f" order {record['order_id']}"
    if record.get("signal_id"):
        text += f" signal {record['signal_id']}"
    return Notice(event, text, fields)
