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
from tests.harness.fake_exchange import Venue as HarnessVenue
from tests.harness.fake_exchange import venue as harness_venue

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
    """A venue of the harness (``tests.harness.fake_exchange.VENUES``): its server, ccxt
    class and market type come from there."""
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
    def harness(self) -> HarnessVenue:
        return harness_venue(self.name)

    @property
    def exchange(self) -> str:
        """The executor account's ``exchange`` (the ccxt id)."""
        return self.harness.ccxt_id

    @property
    def market_type(self) -> str:
        return self.harness.market_type

    @property
    def server(self) -> str:
        """The fake exchange's ``--venue``: ``binance`` or ``bybit``."""
        return self.harness.server

    @property
    def contract(self) -> bool:
        return self.harness.contract

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
        "/api/v3/order",
        "/api/v3/order",
        "/api/v3/order",
        "/api/v3/account",
        "spot",
        "insufficient_balance",
    ),
    Venue(
        "binance-usdm",
        "/fapi/v1/order",
        "/fapi/v1/order",
        "/fapi/v1/order",
        "/fapi/v3/positionRisk",
        "futures",
        "margin_insufficient",
    ),
    Venue(
        "bybit-spot",
        "/v5/order/create",
        "/v5/order/history",
        "/v5/order/realtime",
        "/v5/account/wallet-balance",
        "spot",
        "insufficient_balance",
        confirms=True,
    ),
    Venue(
        "bybit-linear",
        "/v5/order/create",
        "/v5/order/history",
        "/v5/order/realtime",
        "/v5/position/list",
        "linear",
        "margin_insufficient",
        confirms=True,
    ),
)

_SERVERS = {"binance": "fake_exchange_server", "bybit": "fake_bybit_server"}


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
