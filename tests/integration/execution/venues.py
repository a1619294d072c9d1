"""The venues execution tests run on, and the fixtures that parametrize a test over them.

A :class:`Venue` profile says what differs between venues as a test sees it: the account's
exchange and market type, the fake exchange server it needs (``tests.harness.fake_exchange``:
``binance`` or ``bybit``), the REST paths of an order request and of a lookup, whether the
create answer carries the fills (else the executor fetches the order once more), how a refusal
for funds is provoked, and how the venue's order list reads through the fake's control API.

Fixtures: ``venue`` (module scope, parametrized over :data:`VENUES`), ``venue_server`` (the
session's fake exchange server for it) and ``fx`` (that server, reset for each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

__all__ = ["VENUES", "Venue", "fx", "venue", "venue_server"]

_STATUS = {
    # Binance
    "FILLED": "closed",
    "NEW": "open",
    "CANCELED": "canceled",
    # Bybit
    "Filled": "closed",
    "New": "open",
    "Untriggered": "open",
    "Cancelled": "canceled",
    "Deactivated": "canceled",
}


@dataclass(frozen=True)
class Venue:
    name: str
    exchange: str
    market_type: str
    server: str
    """The fake exchange's ``--venue``: ``binance`` or ``bybit``."""
    order_path: str
    """POST: a new order."""
    lookup_path: str
    """GET: hit once by every lookup of an order by client order id that is absent or done
    (Binance: the order query; Bybit: the order history, after the open orders)."""
    lookup_first: str
    """GET: where every lookup begins (Binance: the order query; Bybit: the open orders)."""
    read_path: str
    """GET: the account read an alert with an explicit amount and price needs (the position
    for ``maxPositionSizeUSD``: spot balance, or contract positions)."""
    orders_account: str
    """The fake's ``/_fake/orders`` account of entries and closes on this venue."""
    funds_preset: str
    """The fake's ``reject`` preset that refuses an order for want of funds."""
    confirms: bool = False
    """The create answer lacks the fills: the executor looks the order up once more."""
    amount: float = 0.01

    @property
    def contract(self) -> bool:
        return self.market_type in ("swap", "future")

    def account(self, fx: FakeExchange, **options: str) -> dict[str, Any]:
        """The executor's account on the fake exchange: a 1 s client timeout and a 2 s
        ``recvWindow`` (an order request that failed is settled 3 s after it was sent)."""
        return {
            "name": "main",
            "exchange": self.exchange,
            "environment": "testnet",
            "marketType": self.market_type,
            "apiKeyEnv": "FKS_FAKE_API_KEY",
            "secretEnv": "FKS_FAKE_SECRET",
            "endpoint": fx.base_url,
            "options": {
                "enableRateLimit": "false",
                "timeout": "1000",
                "recvWindow": "2000",
                **options,
            },
        }

    def orders(self, fx: FakeExchange, client_order_id: str | None = None) -> list[dict[str, Any]]:
        """The venue's entries and closes (not Binance USD-M's conditional algo orders)."""
        return fx.orders(account=self.orders_account, client_order_id=client_order_id)

    @staticmethod
    def filled(order: dict[str, Any]) -> tuple[str, Decimal]:
        """(status as the executor reports it, filled amount) of a venue order."""
        filled = order.get("executedQty", order.get("cumExecQty"))
        return _STATUS[str(order["status"])], Decimal(str(filled))

    def requests(self, fx: FakeExchange, method: str, path: str | None = None) -> int:
        """Requests that reached ``path`` (default: the order path for POST, the lookup
        path for GET)."""
        if path is None:
            path = self.order_path if method == "POST" else self.lookup_path
        return int(fx.stats()["byEndpoint"].get(f"{method} {path}", 0))


VENUES = (
    Venue(
        "binance-spot",
        "binance",
        "spot",
        "binance",
        "/api/v3/order",
        "/api/v3/order",
        "/api/v3/order",
        "/api/v3/account",
        "spot",
        "insufficient_balance",
    ),
    Venue(
        "binance-usdm",
        "binance",
        "swap",
        "binance",
        "/fapi/v1/order",
        "/fapi/v1/order",
        "/fapi/v1/order",
        "/fapi/v3/positionRisk",
        "futures",
        "margin_insufficient",
    ),
)

_SERVERS = {"binance": "fake_exchange_server"}


@pytest.fixture(scope="module", params=VENUES, ids=[v.name for v in VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile


@pytest.fixture(scope="module")
def venue_server(venue: Venue, request: pytest.FixtureRequest) -> FakeExchange:
    """The session's fake exchange server running ``venue``."""
    server: FakeExchange = request.getfixturevalue(_SERVERS[venue.server])
    return server


@pytest.fixture
def fx(venue_server: FakeExchange) -> Iterator[FakeExchange]:
    """The venue's fake exchange, reset to its start-up state for this test."""
    venue_server.reset()
    yield venue_server
    venue_server.reset()
