"""USD-M perpetuals (reduce-only legs and closes) and dry-run, against the fake exchange."""

from __future__ import annotations

import pytest

from fks_executor.domain import Action, OrderType
from fks_executor.errors import InvalidOrder
from fks_executor.exchange.live import LiveExchange
from tests.harness.fake_exchange import FakeExchange

from .conftest import MakeClient, close_plan, entry_plan, signal

PERP = "BTC/USDT:USDT"


async def test_perpetual_short_with_legs_then_close(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    client = await make_client(market_type="swap")
    assert set(client.index.by_symbol) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert client.resolve_symbol("BINANCE:BTCUSDT.P") == PERP
    assert client.resolve_symbol("BTCUSDT") == PERP  # the account trades perpetuals
    sig = signal(
        symbol="BTCUSDT.P",
        action=Action.SELL,
        amount=0.01,
        stop_loss=70_000.0,
        take_profit=60_000.0,
    )
    plan = entry_plan(client, sig)
    report = await client.execute(plan)
    assert report.entry.side == "sell"
    assert report.entry.filled == pytest.approx(0.01)
    assert [(o.type, o.side) for o in report.legs] == [("stop_loss", "buy"), ("take_profit", "buy")]
    assert await client.fetch_position(PERP) == pytest.approx(-0.01)
    algo = fake_exchange.orders(account="futures-algo")
    assert {o["clientAlgoId"] for o in algo} == {leg.client_order_id for leg in plan.protective}
    assert all(o["reduceOnly"] in (True, "true") for o in algo)

    closing = await client.execute(
        close_plan(client, signal("sig-close", symbol="BTCUSDT.P", action=Action.CLOSE))
    )
    assert closing.entry.side == "buy"  # opposite the short
    assert closing.entry.amount == pytest.approx(0.01)
    assert {o.type for o in closing.cancelled} == {"stop_loss", "take_profit"}
    assert await client.fetch_position(PERP) == 0.0
    (close_order,) = fake_exchange.orders(client_order_id=closing.plan.entry.client_order_id)
    assert close_order["reduceOnly"] in (True, "true")


async def test_closing_a_flat_perpetual_is_refused(make_client: MakeClient) -> None:
    client = await make_client(market_type="swap")
    with pytest.raises(InvalidOrder, match="no open position"):
        await client.execute(close_plan(client, signal(symbol="BTCUSDT.P", action=Action.CLOSE)))


async def test_dry_run_uses_only_public_endpoints(
    fake_exchange: FakeExchange, make_client: MakeClient
) -> None:
    client = await make_client(paper=True)
    assert client.dry_run
    fake_exchange.set_price("BTC/USDT", "67000")
    buy = await client.execute(
        entry_plan(client, signal(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0))
    )
    assert buy.entry.status == "simulated"
    assert buy.entry.dry_run
    assert buy.entry.price == pytest.approx(67_000)  # the ticker, not the plan's reference
    assert buy.entry.id == f"dry-{buy.plan.entry.client_order_id}"
    assert [(o.type, o.price, o.status) for o in buy.legs] == [
        ("stop_loss", 66_000.0, "simulated"),
        ("take_profit", 70_000.0, "simulated"),
    ]
    limit = await client.execute(
        entry_plan(client, signal("sig-2", order_type=OrderType.LIMIT, price=65_000.0, amount=0.01))
    )
    assert limit.entry.price == pytest.approx(65_000)
    assert await client.fetch_free_balance("USDT") == 10_000  # paperBalanceUSD
    assert await client.fetch_position("BTC/USDT") == pytest.approx(0.02)
    closing = await client.execute(close_plan(client, signal("sig-3", action=Action.CLOSE)))
    assert (closing.entry.side, closing.entry.amount) == ("sell", pytest.approx(0.02))
    assert await client.fetch_position("BTC/USDT") == 0.0
    with pytest.raises(InvalidOrder, match="no simulated position"):
        await client.execute(close_plan(client, signal("sig-4", action=Action.CLOSE)))

    assert fake_exchange.order_count() == 0
    paths = {r["path"] for r in fake_exchange.requests()}
    assert paths == {"/api/v3/exchangeInfo", "/api/v3/ticker/24hr"}  # public data only


async def test_dry_run_client_refuses_credentials(fake_exchange: FakeExchange) -> None:
    import ccxt.async_support as ccxt

    from fks_executor.exchange.paper import PaperExchange

    api = ccxt.binance({"apiKey": "k", "secret": "s"})
    try:
        with pytest.raises(ValueError, match="without credentials"):
            PaperExchange(api, account="a", market_type="spot", paper_balance_usd=1.0)
    finally:
        await api.close()


async def test_live_limit_sell_on_spot(fake_exchange: FakeExchange, client: LiveExchange) -> None:
    report = await client.execute(
        entry_plan(
            client,
            signal(action=Action.SELL, order_type=OrderType.LIMIT, price=70_000.0, amount=0.01),
        )
    )
    assert (report.entry.side, report.entry.status) == ("sell", "open")
    _, locked = fake_exchange.spot_balance("BTC")
    assert float(locked) == pytest.approx(0.01)
