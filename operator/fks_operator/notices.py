"""The Events worth recording when an object's state changes: which, with what reason and
message. Pure: :mod:`fks_operator.reconcile` posts them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fks_operator.conditions import ConditionType, find_condition
from fks_operator.specs import ExchangeAccount

__all__ = ["LIVE_REASON", "Notice", "live_notice_for_pipeline", "transition_notices"]

LIVE_REASON = "LiveTradingEnabled"


@dataclass(frozen=True, slots=True)
class Notice:
    """An Event to record."""

    type: str  # Normal | Warning
    reason: str
    message: str


def transition_notices(
    previous: Sequence[Mapping[str, Any]] | None, current: Sequence[Mapping[str, Any]]
) -> list[Notice]:
    """Events worth recording when a pipeline's conditions change: a Warning when
    ``Reconciled`` turns False or changes reason (a problem appeared), a Normal event when
    ``Ready`` turns True. Re-computing the same conditions records nothing."""
    notices: list[Notice] = []
    old = find_condition(previous, ConditionType.RECONCILED)
    new = find_condition(current, ConditionType.RECONCILED)
    if (
        new is not None
        and new.get("status") == "False"
        and (old is None or old.get("status") != "False" or old.get("reason") != new.get("reason"))
    ):
        notices.append(Notice("Warning", str(new.get("reason")), str(new.get("message", ""))))
    old_ready = find_condition(previous, ConditionType.READY)
    new_ready = find_condition(current, ConditionType.READY)
    if (
        new_ready is not None
        and new_ready.get("status") == "True"
        and (old_ready is None or old_ready.get("status") != "True")
    ):
        notices.append(
            Notice("Normal", str(new_ready.get("reason")), str(new_ready.get("message", "")))
        )
    return notices


def live_notice_for_pipeline(account: ExchangeAccount, pipeline_body: Mapping[str, Any]) -> Notice:
    """The Warning recorded on a pipeline whose account switched to live."""
    dry_run = bool((pipeline_body.get("spec") or {}).get("dryRun", False))
    consequence = (
        "this pipeline is dry-run, so it still places no orders"
        if dry_run
        else "orders of this pipeline now use real money"
    )
    return Notice(
        "Warning",
        LIVE_REASON,
        f"ExchangeAccount {account.name!r} ({account.spec.exchange}) switched to live: "
        f"{consequence}",
    )
