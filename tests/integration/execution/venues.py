"""The venues execution tests run on: one profile per venue and market type the project
supports, and the ``venue`` fixture that parametrizes a test over them.

A profile says what differs between venues as a test sees it: the account's exchange and
market type, the REST paths of an order request and of a lookup by client order id, how a
refusal for funds is provoked, and how the venue's order list reads (through the fake
exchange's control API)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange

__all__ = ["VENUES", "Venue", "venue"]


@dataclass(frozen=True)
class Venue:
    name: str
    exchange: str
    market_type: str
    order_path: str
    """POST: a new order; GET: one order looked up by client order id."""
    funds_preset: str
    """The fake's ``reject`` preset that refuses an order for want of funds."""
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
        """The venue's orders of this market type (entries and closes; not conditional legs)."""
        account = "futures" if self.contract else "spot"
        return fx.orders(account=account, client_order_id=client_order_id)

    @staticmethod
    def filled(order: dict[str, Any]) -> tuple[str, Decimal]:
        """(status as the executor reports it, filled amount) of a venue order."""
        status = {"FILLED": "closed", "NEW": "open", "CANCELED": "canceled"}[order["status"]]
        return status, Decimal(str(order["executedQty"]))

    def requests(self, fx: FakeExchange, method: str) -> int:
        return int(fx.stats()["byEndpoint"].get(f"{method} {self.order_path}", 0))


VENUES = (
    Venue("binance-spot", "binance", "spot", "/api/v3/order", "insufficient_balance"),
    Venue("binance-usdm", "binance", "swap", "/fapi/v1/order", "margin_insufficient"),
)


@pytest.fixture(scope="module", params=VENUES, ids=[v.name for v in VENUES])
def venue(request: pytest.FixtureRequest) -> Venue:
    profile: Venue = request.param
    return profile
