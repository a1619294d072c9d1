"""ExchangeAccount readiness: one reason per failure, checked in a fixed order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fks_operator.accounts import ccxt_catalog, evaluate_account, went_live
from fks_operator.builders import build_account_status
from fks_operator.conditions import AccountReason
from tests.unit.operator.conftest import CATALOG, account, b64

KEYS = {"apiKey": b64("k"), "secret": b64("s")}


def test_credentials_found() -> None:
    verdict = evaluate_account(account().spec, KEYS, CATALOG)
    assert (verdict.ready, verdict.reason) == (True, AccountReason.CREDENTIALS_FOUND)
    assert "binance-testnet-keys" in verdict.message
    assert not verdict.dry_run_only


def test_no_credentials_is_ready_but_dry_run_only() -> None:
    verdict = evaluate_account(account(credentialsSecretRef=None).spec, None, CATALOG)
    assert (verdict.ready, verdict.reason) == (True, AccountReason.NO_CREDENTIALS)
    assert verdict.dry_run_only
    assert "dry-run" in verdict.message


def test_secret_missing_names_the_secret() -> None:
    verdict = evaluate_account(account().spec, None, CATALOG)
    assert (verdict.ready, verdict.reason) == (False, AccountReason.SECRET_MISSING)
    assert verdict.message == "Secret 'binance-testnet-keys' not found"


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"apiKey": b64("k")}, "'secret'"),
        ({"secret": b64("s")}, "'apiKey'"),
        ({"apiKey": "", "secret": b64("s")}, "'apiKey'"),
        ({}, "'apiKey', 'secret'"),
    ],
)
def test_key_missing_names_the_keys(data: dict[str, str], missing: str) -> None:
    verdict = evaluate_account(account().spec, data, CATALOG)
    assert (verdict.ready, verdict.reason) == (False, AccountReason.KEY_MISSING)
    assert verdict.message.endswith(missing)


def test_password_key_is_required_when_named() -> None:
    spec = account(credentialsSecretRef={"passwordKey": "passphrase"}, exchange="okx").spec
    verdict = evaluate_account(spec, KEYS, CATALOG)
    assert verdict.reason == AccountReason.KEY_MISSING
    assert "'passphrase'" in verdict.message
    ok = evaluate_account(spec, {**KEYS, "passphrase": b64("p")}, CATALOG)
    assert ok.reason == AccountReason.CREDENTIALS_FOUND


def test_secret_values_never_reach_the_message() -> None:
    data = {"apiKey": b64("AKIA-very-secret"), "secret": b64("sssh")}
    for verdict in (
        evaluate_account(account().spec, data, CATALOG),
        evaluate_account(account().spec, {"apiKey": data["apiKey"]}, CATALOG),
    ):
        assert data["apiKey"] not in verdict.message
        assert "AKIA" not in verdict.message


def test_unknown_exchange_wins_over_everything() -> None:
    verdict = evaluate_account(account(exchange="nosuchex").spec, None, CATALOG)
    assert (verdict.ready, verdict.reason) == (False, AccountReason.EXCHANGE_UNSUPPORTED)
    assert "'nosuchex'" in verdict.message


def test_testnet_needs_a_sandbox() -> None:
    verdict = evaluate_account(account(exchange="kraken").spec, KEYS, CATALOG)
    assert (verdict.ready, verdict.reason) == (False, AccountReason.SANDBOX_UNSUPPORTED)
    live = account(exchange="kraken", environment="live", acknowledgeLiveTrading=True)
    assert evaluate_account(live.spec, KEYS, CATALOG).ready


def test_condition_and_status() -> None:
    verdict = evaluate_account(account().spec, None, CATALOG)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    status = build_account_status(7, verdict, previous=None, now=now)
    assert status["observedGeneration"] == 7
    [condition] = status["conditions"]
    assert condition["type"] == "Ready"
    assert condition["status"] == "False"
    assert condition["reason"] == "SecretMissing"
    assert condition["observedGeneration"] == 7
    again = build_account_status(7, verdict, previous=status, now=datetime.now(UTC))
    assert again == status


def test_went_live() -> None:
    testnet = account().spec
    live = account(environment="live", acknowledgeLiveTrading=True).spec
    assert went_live(testnet, live)
    assert went_live(None, live)
    assert not went_live(live, live)
    assert not went_live(live, testnet)


def test_real_ccxt_catalog() -> None:
    """The catalog the operator uses (tests/unit/operator/test_ccxt_catalog.py checks it
    against the installed ccxt)."""
    catalog = ccxt_catalog()
    assert catalog.is_known("binance")
    assert catalog.is_known("kraken")
    assert not catalog.is_known("nosuchex")
    assert catalog.has_sandbox("binance")
    assert not catalog.has_sandbox("kraken")
    assert not catalog.has_sandbox("nosuchex")
