"""The ``FuturesSettingsApplied`` condition from the executors' reports (pure)."""

from __future__ import annotations

from fks_operator.futures_status import FUTURES_APPLIED, executor_url, futures_condition

CONFLICT = {
    "account": "acct",
    "symbol": "BTC/USDT:USDT",
    "setting": "leverage",
    "wanted": "5",
    "actual": "20",
    "reason": "OpenPositionConflict",
}


def test_a_conflict_of_the_account_wins_and_names_pipeline_symbol_and_values() -> None:
    other = {**CONFLICT, "account": "other", "reason": "VenueRefused"}
    found = futures_condition("acct", 3, {"a": [other], "b": [CONFLICT], "c": None})
    assert (found.type, found.status, found.reason, found.observed_generation) == (
        FUTURES_APPLIED,
        "False",
        "OpenPositionConflict",
        3,
    )
    assert found.message == (
        "pipeline b: leverage of BTC/USDT:USDT is 20, spec.futures wants 5 "
        "(OpenPositionConflict): entries refused"
    )


def test_an_unknown_reason_from_an_executor_is_not_copied() -> None:
    odd = {**CONFLICT, "reason": "Something<script>"}
    assert futures_condition("acct", 1, {"p": [odd]}).reason == "VenueRefused"


def test_silence_is_unknown_and_no_conflict_is_applied() -> None:
    silent = futures_condition("acct", 1, {"p": [], "q": None})
    assert (silent.status, silent.reason) == ("Unknown", "ExecutorUnreachable")
    assert silent.message.startswith("no /ready answer from the executors of q (")
    applied = futures_condition("acct", 1, {"p": [{**CONFLICT, "account": "other"}]})
    assert (applied.status, applied.reason) == ("True", "Applied")
    unused = futures_condition("acct", 1, {})
    assert (unused.status, unused.message) == (
        "True",
        "no conflict reported (no pipeline uses the account)",
    )


def test_executor_url() -> None:
    body = {"metadata": {"name": "pipe", "namespace": "trading"}}
    assert executor_url("http://{name}.{namespace}.svc:8000", body) == (
        "http://pipe-executor.trading.svc:8000"
    )
    assert executor_url("http://127.0.0.1:9000/", body) == "http://127.0.0.1:9000"
