"""An ExchangeAccount's ``FuturesSettingsApplied`` condition follows what its executor reports:
a real ``fks-executor`` on the fake exchange (Binance USD-M) refuses an entry under an open
position (its leverage is not the account's ``spec.futures``), the operator reads the
executor's ``/ready`` and sets the condition False ``OpenPositionConflict`` naming the symbol;
once the position is closed and the settings applied, True ``Applied``.

The pods the local control plane runs are not real (kwok), so the operator is pointed at the
real executor process with ``FKS_OPERATOR_EXECUTOR_URL`` (the setting an operator outside the
cluster uses), and asks every second (``FKS_OPERATOR_FUTURES_POLL_SECONDS``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.integration.execution.helpers import Executor, alert, start_executor
from tests.integration.execution.venues import VENUES
from tests.integration.operator.conftest import (
    WEBHOOK_SECRET,
    Cluster,
    Operator,
    account,
    pipeline,
    secret,
)

USDM = next(v for v in VENUES if v.name == "binance-usdm")
BTC = "BTC/USDT:USDT"
CONDITION = "FuturesSettingsApplied"


@pytest.fixture
def executor(fake_exchange: FakeExchange, tmp_path: Path) -> Iterator[Executor]:
    """The pipeline's executor, trading account ``acct`` with leverage 5 on the fake."""
    acct = {**USDM.account(fake_exchange), "name": "acct", "futures": {"leverage": 5}}
    ex = start_executor(
        tmp_path, fake_exchange, {"responseDeadlineSeconds": 20.0, "accounts": [acct]}
    )
    yield ex
    ex.process.stop()


@pytest.fixture
def pointed(op: Operator, executor: Executor) -> Iterator[Operator]:
    """The operator asking that executor's /ready every second."""
    op.env["FKS_OPERATOR_EXECUTOR_URL"] = executor.url
    op.env["FKS_OPERATOR_FUTURES_POLL_SECONDS"] = "1"
    op.restart()
    yield op
    del op.env["FKS_OPERATOR_EXECUTOR_URL"], op.env["FKS_OPERATOR_FUTURES_POLL_SECONDS"]
    op.restart()


async def test_the_account_status_shows_the_executors_futures_conflict(
    pointed: Operator, cluster: Cluster, executor: Executor, fake_exchange: FakeExchange
) -> None:
    async with fake_exchange.ccxt(USDM.name) as api:  # someone opens a position at 20x
        await api.load_markets()
        await api.create_order(BTC, "market", "buy", 0.02)
    refused = executor.post(alert(id="op-conflict", amount=0.01))
    assert refused.status_code == 409, refused.text

    cluster.apply(secret("acct-keys", apiKey="k-1", secret="s-1"))
    cluster.apply(account("acct", marketType="swap", futures={"leverage": 5}))
    cluster.apply(secret("pipe-webhook", secret=WEBHOOK_SECRET))
    cluster.apply(pipeline("pipe"))
    found = cluster.wait_condition(
        "exchangeaccount", "acct", CONDITION, "False", "OpenPositionConflict"
    )
    assert found["message"] == (
        "pipeline pipe: leverage of BTC/USDT:USDT is 20, spec.futures wants 5 "
        "(OpenPositionConflict): entries refused"
    )
    assert cluster.condition("exchangeaccount", "acct", "Ready")["status"] == "True"

    closed = executor.post(alert(id="op-close", action="close"))
    assert closed.status_code == 200, closed.text
    entry = executor.post(alert(id="op-entry", amount=0.01))
    assert entry.status_code == 200, entry.text
    applied = cluster.wait_condition("exchangeaccount", "acct", CONDITION, "True", "Applied")
    assert "pipe" in applied["message"]

    # without spec.futures the condition goes away
    cluster.kubectl(
        "patch", "exchangeaccount", "acct", "--type=json", "-p",
        '[{"op": "remove", "path": "/spec/futures"}]',
    )  # fmt: skip
    cluster.wait(
        lambda: cluster.condition("exchangeaccount", "acct", CONDITION) == {} or None,
        "the condition removed",
    )
