"""Legs follow the order types the market lists (a fake exchange with a restricted market)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from fks_executor.errors import InvalidOrder
from fks_executor.exchange.base import Credentials
from fks_executor.exchange.live import LiveExchange
from fks_executor.exchange.setup import build_ccxt
from tests.harness.fake_exchange import FakeExchange, fake_exchange_process

from .conftest import ACCOUNT, FAST_RETRY, Account, entry_plan, signal


@pytest.fixture(scope="module")
def restricted() -> Iterator[FakeExchange]:
    config = {
        "markets": [
            {
                "symbol": "BTC/USDT",
                "price": "68000",
                "tickSize": "0.01",
                "stepSize": "0.00001",
                "minQty": "0.00001",
                "orderTypes": ["LIMIT", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
            },
            {"symbol": "ETH/USDT", "price": "3500", "orderTypes": ["LIMIT", "MARKET"]},
        ]
    }
    with fake_exchange_process(config) as fx:
        yield fx


async def _client(fx: FakeExchange) -> LiveExchange:
    account = Account(endpoint=fx.base_url)
    client = LiveExchange(
        build_ccxt(account, Credentials(fx.api_key, fx.secret)),
        account=ACCOUNT,
        market_type="spot",
        retry=FAST_RETRY,
    )
    await client.start()
    return client


async def test_stop_limit_types_when_market_triggers_are_not_listed(
    restricted: FakeExchange,
) -> None:
    restricted.reset()
    client = await _client(restricted)
    try:
        plan = entry_plan(client, signal(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0))
        report = await client.execute(plan)
        assert report.leg_failures == ()
        by_id = {o["clientOrderId"]: o for o in restricted.orders()}
        sl = by_id[plan.protective[0].client_order_id]
        tp = by_id[plan.protective[1].client_order_id]
        assert (sl["type"], Decimal(sl["stopPrice"]), Decimal(sl["price"])) == (
            "STOP_LOSS_LIMIT",
            Decimal(66_000),
            Decimal(65_670),  # 0.5 % below the stop, so it still fills in a fast move
        )
        assert (tp["type"], Decimal(tp["stopPrice"]), Decimal(tp["price"])) == (
            "TAKE_PROFIT_LIMIT",
            Decimal(70_000),
            Decimal(70_000),
        )
    finally:
        await client.close()


async def test_a_market_without_stop_orders_refuses_before_sending(
    restricted: FakeExchange,
) -> None:
    restricted.reset()
    client = await _client(restricted)
    try:
        with pytest.raises(InvalidOrder, match="lists neither STOP_LOSS nor STOP_LOSS_LIMIT"):
            entry_plan(
                client, signal(symbol="ETHUSDT", amount=0.1, stop_loss=3000.0), reference_price=3500
            )
        assert restricted.stats()["orderRequests"] == 0
    finally:
        await client.close()
