"""docs/troubleshooting.md has a section for every reason a user can meet: every answer reason
of the executor's error tree, the success statuses, and every condition reason of the operator.
A reason added in code without a doc section fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fks_executor import errors, serving
from fks_operator.conditions import AccountReason, PipelineReason

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "troubleshooting.md").read_text()
HEADINGS = set(re.findall(r"^### (.+)$", DOC, re.M))


def _error_reasons() -> set[str]:
    found = set()
    for value in vars(errors).values():
        if (
            isinstance(value, type)
            and issubclass(value, errors.ExecutorError)
            and value not in (errors.ExecutorError, errors.Rejected, errors.Failed)
        ):
            found.add(value.reason)
    return found


def _constants(holder: type) -> set[str]:
    return {value for key, value in vars(holder).items() if key.isupper()}


@pytest.mark.parametrize(
    "reason",
    sorted(
        _error_reasons()
        | set(serving.SERVER_REASONS)
        | {"executed", "dry_run", "accepted", "duplicate", "low_confidence"}
    ),
)
def test_webhook_reason_has_a_section(reason: str) -> None:
    assert reason in HEADINGS or any(reason in h.split(", ") for h in HEADINGS)


@pytest.mark.parametrize("reason", sorted(_constants(AccountReason)))
def test_account_reason_has_a_section(reason: str) -> None:
    assert f"Account: {reason}" in HEADINGS


@pytest.mark.parametrize("reason", sorted(_constants(PipelineReason)))
def test_pipeline_reason_has_a_section(reason: str) -> None:
    assert reason in HEADINGS


def test_spec_answer_reasons_are_all_in_the_error_tree() -> None:
    """SPEC §3's answer table, as the executor implements it."""
    spec = {
        "invalid_signature", "ip_not_allowed", "invalid_json", "body_too_large",
        "invalid_payload", "stale", "symbol_not_allowed", "unknown_account", "risk_limit",
        "below_minimum", "insufficient_funds", "invalid_order", "rate_limited",
        "exchange_unavailable", "circuit_open", "suspended",
    }  # fmt: skip
    assert spec <= _error_reasons()
