"""Audit line -> notification (docs/notifications.md#events): the records are made by the real
AuditLog (its listener sees what it writes), so the mapping is tested on the shapes the
executor records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fks_executor.audit import AuditLog
from fks_executor.errors import RiskLimit
from fks_executor.fills import Fill
from fks_executor.notify.events import DAILY_LOSS_MARKER, FIELDS, MAX_DETAIL, notice_for
from fks_executor.risk import check_daily_loss

LIVE = frozenset({"live-acct"})


def recorded(tmp_path: Path, decision: str, **fields: Any) -> dict[str, Any]:
    """The event AuditLog records (and writes) for these arguments."""
    seen: list[Any] = []
    audit = AuditLog(str(tmp_path / "audit.jsonl"), "btc-momentum")
    audit.subscribe(seen.append)
    audit.record(decision, **fields)
    audit.close()
    (event,) = seen
    return dict(event)


def event_of(record: dict[str, Any], *, dry_run: bool = False) -> str | None:
    notice = notice_for(record, live_accounts=LIVE, dry_run=dry_run)
    return None if notice is None else notice.event


SIGNAL = {"signal_id": "sig-1", "account": "main", "symbol": "BTC/USDT"}


@pytest.mark.parametrize(
    ("decision", "fields", "event"),
    [
        ("order_result", {**SIGNAL, "order_id": "42", "reason": "closed"}, "order_filled"),
        ("order_result", {**SIGNAL, "order_id": "43", "reason": "open"}, None),
        ("order_result", {**SIGNAL, "order_id": "44", "reason": "canceled"}, None),
        ("rejected", {**SIGNAL, "reason": "insufficient_funds"}, "order_refused"),
        ("rejected", {**SIGNAL, "reason": "below_minimum"}, "order_refused"),
        (
            "rejected",
            {**SIGNAL, "reason": "risk_limit", "detail": "maxPositionSizeUSD ..."},
            "order_refused",
        ),
        ("rejected", {**SIGNAL, "reason": "suspended"}, "suspended"),
        # refused before authentication (no signal id): anyone could send these
        ("rejected", {"reason": "invalid_signature", "source": "203.0.113.9"}, None),
        ("rejected", {"reason": "rate_limited", "source": "203.0.113.9"}, None),
        ("failed", {**SIGNAL, "reason": "exchange_unavailable"}, "order_failed"),
        ("failed", {**SIGNAL, "reason": "circuit_open"}, "order_failed"),
        ("failed", {"reason": "internal_error"}, None),
        ("circuit_breaker", {"account": "main", "reason": "open"}, "circuit_open"),
        ("circuit_breaker", {"account": "main", "reason": "half_open"}, None),
        ("circuit_breaker", {"account": "main", "reason": "closed"}, None),
        (
            "order_sent",
            {**SIGNAL, "account": "live-acct", "detail": "market buy 0.001"},
            "live_order",
        ),
        ("order_sent", {**SIGNAL, "detail": "market buy 0.001"}, None),  # a testnet account
        ("protection_failed", {**SIGNAL, "reason": "invalid_order"}, "protection_failed"),
        ("accepted", SIGNAL, None),
        ("executed", {**SIGNAL, "order_id": "42"}, None),  # its order_result says filled
        ("duplicate", SIGNAL, None),
        ("ignored", {**SIGNAL, "reason": "low_confidence"}, None),
        ("lost_trade", {**SIGNAL, "reason": "exchange_unavailable"}, None),  # failed says it
    ],
)
def test_which_audit_lines_are_events(
    tmp_path: Path, decision: str, fields: dict[str, Any], event: str | None
) -> None:
    assert event_of(recorded(tmp_path, decision, **fields)) == event


def test_the_daily_loss_limit_is_its_own_event(tmp_path: Path) -> None:
    """The refusal check_daily_loss raises (its own words) is daily_loss_limit, not a plain
    order_refused."""
    now = 1_800_000_000.0
    fills = [
        Fill(now - 60, "main", "BTC/USDT", "buy", 1.0, 100.0),
        Fill(now - 30, "main", "BTC/USDT", "sell", 1.0, 40.0),
    ]
    with pytest.raises(RiskLimit) as refused:
        check_daily_loss(fills, limit_usd=50, now=now)
    assert refused.value.detail.startswith(DAILY_LOSS_MARKER)
    record = recorded(
        tmp_path, "rejected", **SIGNAL, reason="risk_limit", detail=refused.value.detail
    )
    notice = notice_for(record, live_accounts=LIVE, dry_run=False)
    assert notice is not None
    assert notice.event == "daily_loss_limit"
    assert notice.text.startswith("[btc-momentum] daily loss limit reached - main BTC/USDT (")


def test_the_message_shows_what_the_audit_line_shows(tmp_path: Path) -> None:
    record = recorded(
        tmp_path,
        "rejected",
        **SIGNAL,
        reason="insufficient_funds",
        source="203.0.113.9",
        http_status=422,
        detail="binance: Account has insufficient balance",
    )
    notice = notice_for(record, live_accounts=LIVE, dry_run=False)
    assert notice is not None
    assert notice.text == (
        "[btc-momentum] alert refused: insufficient_funds - main BTC/USDT "
        "(binance: Account has insufficient balance) signal sig-1"
    )
    assert set(notice.fields) == set(FIELDS)  # the source address is not carried
    assert notice.fields["reason"] == "insufficient_funds"
    assert "203.0.113.9" not in notice.text


def test_dry_run_is_marked_and_never_a_live_order(tmp_path: Path) -> None:
    filled = recorded(tmp_path, "order_result", **SIGNAL, order_id="7", reason="closed")
    notice = notice_for(filled, live_accounts=LIVE, dry_run=True)
    assert notice is not None
    assert notice.text.startswith("[btc-momentum] (dry-run) order filled - main BTC/USDT")
    sent = recorded(tmp_path, "order_sent", **{**SIGNAL, "account": "live-acct"})
    assert notice_for(sent, live_accounts=LIVE, dry_run=True) is None


def test_a_long_detail_is_cut(tmp_path: Path) -> None:
    record = recorded(
        tmp_path, "failed", **SIGNAL, reason="exchange_unavailable", detail="x" * 5000
    )
    notice = notice_for(record, live_accounts=LIVE, dry_run=False)
    assert notice is not None
    assert "x" * MAX_DETAIL + "...)" in notice.text
    assert len(notice.text) < MAX_DETAIL + 200
