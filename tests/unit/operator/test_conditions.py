"""Condition merging: lastTransitionTime moves only when the status flips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fks_operator.conditions import (
    Condition,
    ConditionType,
    PipelineReason,
    find_condition,
    format_time,
    merge_conditions,
    truncate,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def ready(status: bool, reason: str = "R", message: str = "m", gen: int = 1) -> Condition:
    make = Condition.true if status else Condition.false
    return make(ConditionType.READY, reason, message, gen)


def test_new_condition_gets_now_in_api_format() -> None:
    [item] = merge_conditions(None, [ready(True)], T0)
    assert item == {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 1,
        "lastTransitionTime": "2025-01-02T03:04:05Z",
        "reason": "R",
        "message": "m",
    }


def test_same_status_keeps_transition_time_but_updates_the_rest() -> None:
    first = merge_conditions(None, [ready(False, "A", "one")], T0)
    second = merge_conditions(first, [ready(False, "B", "two", gen=2)], T1)
    assert second[0]["lastTransitionTime"] == format_time(T0)
    assert (second[0]["reason"], second[0]["message"], second[0]["observedGeneration"]) == (
        "B",
        "two",
        2,
    )


def test_flip_moves_transition_time() -> None:
    first = merge_conditions(None, [ready(False)], T0)
    second = merge_conditions(first, [ready(True)], T1)
    assert second[0]["lastTransitionTime"] == format_time(T1)


def test_same_facts_give_an_equal_list_so_status_is_not_rewritten() -> None:
    updates = [
        Condition.true(ConditionType.RECONCILED, PipelineReason.APPLIED, "ok", 4),
        ready(True, PipelineReason.EXECUTORS_READY, "1/1", 4),
    ]
    first = merge_conditions(None, updates, T0)
    assert merge_conditions(first, updates, T1) == first


def test_foreign_conditions_are_kept_in_place_and_new_ones_appended() -> None:
    existing = [
        {"type": "Argo", "status": "True", "reason": "X", "message": "", "lastTransitionTime": "t"},
        {
            "type": "Ready",
            "status": "True",
            "reason": "R",
            "message": "m",
            "lastTransitionTime": "t",
        },
    ]
    merged = merge_conditions(
        existing,
        [ready(True), Condition.true(ConditionType.RECONCILED, "Applied", "", 1)],
        T0,
    )
    assert [c["type"] for c in merged] == ["Argo", "Ready", "Reconciled"]
    assert merged[0] == existing[0]
    assert merged[1]["lastTransitionTime"] == "t"
    assert existing[1].get("observedGeneration") is None  # input not mutated


def test_long_messages_are_truncated() -> None:
    [item] = merge_conditions(None, [ready(False, message="x" * 5000)], T0)
    assert len(item["message"]) == 1024
    assert item["message"].endswith("…")
    assert truncate("short") == "short"


def test_find_condition() -> None:
    merged = merge_conditions(None, [ready(True)], T0)
    assert find_condition(merged, "Ready") is merged[0]
    assert find_condition(merged, "Reconciled") is None
    assert find_condition(None, "Ready") is None


def test_reasons_are_camel_case_as_the_crd_pattern_requires() -> None:
    import re

    from fks_operator.conditions import AccountReason

    pattern = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    for holder in (AccountReason, PipelineReason):
        values = [v for k, v in vars(holder).items() if k.isupper()]
        assert values
        for value in values:
            assert pattern.match(value), value
            assert value[0].isupper(), value
