"""Test tiers are applied by directory, so a test can't land in the wrong tier by forgetting a mark.

- ``tests/unit``        -> ``unit``        (no processes)
- ``tests/integration`` -> ``integration`` (real local processes)
- ``tests/e2e``         -> ``e2e``         (a kind cluster)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.harness.kube_fixtures", "tests.harness.fake_exchange"]  # + fake_exchange
_TIERS = {"unit": "unit", "integration": "integration", "e2e": "e2e"}
_ROOT = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            tier = Path(item.path).relative_to(_ROOT).parts[0]
        except ValueError:
            continue
        marker = _TIERS.get(tier)
        if marker is not None:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A fresh real redis-server for one test (skips with a reason where it is not installed)."""
    from tests.harness.redis import redis_missing_reason, redis_server

    reason = redis_missing_reason()
    if reason:
        pytest.skip(reason)
    with redis_server() as server:
        yield server.url
