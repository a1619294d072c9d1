"""The executors these tests start trade (dry-run) against the session's fake exchange."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.fake_exchange import FakeExchange
from tests.integration.executor import helpers


@pytest.fixture(scope="session", autouse=True)
def _accounts_on_the_fake_exchange(fake_exchange_server: FakeExchange) -> Iterator[None]:
    """Point the helpers' account at the fake exchange (dry-run reads its markets and ticker;
    nothing here may reach a real exchange)."""
    account = helpers.BASE["accounts"][0]
    saved = dict(account)
    account["endpoint"] = fake_exchange_server.base_url
    account["options"] = {"enableRateLimit": "false", "timeout": "2000"}
    yield
    account.clear()
    account.update(saved)
