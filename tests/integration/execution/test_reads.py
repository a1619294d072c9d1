"""Reads before an order (the position for ``maxPositionSizeUSD``) retried through transient
faults on every venue; the signal then places its one order. Real processes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.harness.fake_exchange import FakeExchange

from .helpers import Executor, alert, start_executor
from .venues import Venue, fx, venue, venue_server

__all__ = ["fx", "venue", "venue_server"]  # the fixtures, for pytest


@pytest.fixture(scope="module")
def ex(
    venue: Venue, venue_server: FakeExchange, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Executor]:
    workdir = tmp_path_factory.mktemp(f"reads-{venue.name}")
    changes = {"responseDeadlineSeconds": 20.0, "accounts": [venue.account(venue_server)]}
    executor = start_executor(workdir, venue_server, changes, name=f"reads-{venue.name}")
    yield executor
    executor.process.stop()


def test_network_faults_on_reads_are_retried(ex: Executor, venue: Venue, fx: FakeExchange) -> None:
    fx.add_fault("http_error", method="GET", path=venue.read_path, status=502, count=2)
    fx.add_fault("latency", method="GET", path=venue.read_path, delayMs=1500)
    r = ex.post(alert(id=f"read-retried-{venue.name}", amount=venue.amount))
    assert (r.status_code, r.json()["status"]) == (200, "executed")
    assert venue.requests(fx, "GET", venue.read_path) == 4  # 502, 502, slow, ok
    (placed,) = venue.orders(fx)
    assert venue.filled(placed) == ("closed", Decimal(str(venue.amount)))
