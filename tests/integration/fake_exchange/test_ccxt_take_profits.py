"""Real ccxt against each futures venue of the fake exchange: three conditional take-profits on
one position (ccxt's documented ``takeProfitPrice`` + ``reduceOnly``), one-way and hedged, scale
out of it as the price reaches each. One scenario; what differs between the venues is data
(:class:`Exits`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness.fake_exchange import FakeExchange, VenueExchange

pytestmark = pytest.mark.integration
BTC = "BTC/USDT:USDT"
TARGETS = (69_000, 70_000, 71_000)


@dataclass(frozen=True)
class Exits:
    """How a venue takes and shows a conditional take-profit."""

    trigger: dict[str, Any]
    """Params addressing conditional orders in fetch_open_orders."""
    sent_path: str
    """Where ccxt sends a conditional order."""
    sent_keys: tuple[str, str, str]
    """Its order type, trigger price and quantity fields there."""
    take_profit_type: str
    """The order type ccxt sends for a take-profit."""
    record_account: str
    """Where the fake records the conditional orders (``FakeExchange.orders(account=...)``)."""
    record_keys: tuple[str, str, str]
    """A record's client id, status and position fields."""
    finished: str
    """The status of a triggered and filled record."""
    position_side: tuple[Any, Any]
    """A record's position field: one-way, hedged long."""


EXITS = {
    "binance-usdm": Exits(
        trigger={"trigger": True},
        sent_path="/fapi/v1/algoOrder",
        sent_keys=("type", "triggerPrice", "quantity"),
        take_profit_type="TAKE_PROFIT_MARKET",
        record_account="futures-algo",
        record_keys=("clientAlgoId", "algoStatus", "positionSide"),
        finished="FINISHED",
        position_side=("BOTH", "LONG"),
    ),
    "bybit-linear": Exits(
        trigger={},  # Bybit lists conditional orders with the others
        sent_path="/v5/order/create",
        sent_keys=("orderType", "triggerPrice", "qty"),
        take_profit_type="Market",
        record_account="linear",
        record_keys=("clientOrderId", "status", "positionIdx"),
        finished="Filled",
        position_side=(0, 1),
    ),
}


@pytest.mark.parametrize("hedged", [False, True], ids=["oneway", "hedge"])
@pytest.mark.parametrize("fake_venue", list(EXITS), indirect=True)
async def test_three_take_profits_scale_out_of_one_position(
    fake_venue: VenueExchange, hedged: bool
) -> None:
    fake, exits = fake_venue.fake, EXITS[fake_venue.venue.name]
    async with fake_venue.ccxt() as ex:
        await ex.load_markets()
        if hedged:
            await ex.set_position_mode(True, BTC)
        side = {"hedged": True} if hedged else {}
        await ex.create_order(BTC, "market", "buy", 0.03, None, side)
        for i, price in enumerate(TARGETS):
            params = {
                **side,
                "takeProfitPrice": price,
                "reduceOnly": True,
                "clientOrderId": f"tp-{i}",
            }
            await ex.create_order(BTC, "market", "sell", 0.01, None, params)
        waiting = await ex.fetch_open_orders(BTC, params=exits.trigger)
        assert sorted((o["takeProfitPrice"], o["amount"]) for o in waiting) == [
            (p, 0.01) for p in TARGETS
        ]
        assert await _scale_out(fake, ex) == [0.03, 0.02, 0.01, 0]
        assert await ex.fetch_open_orders(BTC, params=exits.trigger) == []
        # each target's fill is a closed market order under the target's client id
        closed = await ex.fetch_closed_orders(BTC)
        assert sorted(
            (o["clientOrderId"], o["type"], o["status"], o["average"])
            for o in closed
            if (o["clientOrderId"] or "").startswith("tp-")
        ) == [(f"tp-{i}", "market", "closed", p) for i, p in enumerate(TARGETS)]
        trades = await ex.fetch_my_trades(BTC)
        assert sorted((t["side"], t["price"], t["amount"]) for t in trades) == [
            ("buy", 68_000, 0.03),
            *[("sell", p, 0.01) for p in TARGETS],
        ]
    type_key, trigger_key, qty_key = exits.sent_keys
    sent = [
        r["params"]
        for r in fake.requests(method="POST", path=exits.sent_path)
        if trigger_key in r["params"]
    ]
    assert [(p[type_key], p[trigger_key], p[qty_key]) for p in sent] == [
        (exits.take_profit_type, str(p), "0.01") for p in TARGETS
    ]
    client, status, position = exits.record_keys
    records = [
        r for r in fake.orders(account=exits.record_account) if str(r[client]).startswith("tp-")
    ]
    assert [(r[client], r[status], r[position]) for r in records] == [
        (f"tp-{i}", exits.finished, exits.position_side[hedged]) for i in range(3)
    ]


async def _scale_out(fake: FakeExchange, ex: Any) -> list[float]:
    """What the position holds at 68,500 then at each target (Bybit lists a flat position as a
    zero-size row, Binance not at all)."""
    left = []
    for price in (68_500, *TARGETS):
        fake.set_price(BTC, str(price))
        left.append(float(sum(p["contracts"] for p in await ex.fetch_positions([BTC]))))
    return left
