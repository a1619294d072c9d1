"""POST /api/v3/order parameter validation (before filters), as Binance answers it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import Market
from fks_fake_exchange.orders import new_order_view, parse_new_order, query_view
from fks_fake_exchange.params import Params
from fks_fake_exchange.spot import SpotEngine

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "60000",
}


def _parse(markets: dict[str, Market], **params: str) -> None:
    parse_new_order(Params(params), markets)


def test_valid_limit(spot_markets: dict[str, Market]) -> None:
    new = parse_new_order(Params(LIMIT), spot_markets)
    assert (new.type, new.side, new.price, new.quantity) == (
        "LIMIT",
        "BUY",
        60_000,
        Decimal("0.001"),
    )
    assert new.resp_type == "FULL"


@pytest.mark.parametrize(
    ("changes", "code", "msg_part"),
    [
        ({"symbol": "NOPEUSDT"}, -1121, "Invalid symbol."),
        ({"side": "LONG"}, -1117, "Invalid side."),
        ({"type": "ICEBERG"}, -1116, "Invalid orderType."),
        ({"timeInForce": None}, -1102, "'timeInForce'"),
        ({"timeInForce": "GTD"}, -1115, "Invalid timeInForce."),
        ({"price": None}, -1102, "'price'"),
        ({"quantity": None}, -1102, "'quantity'"),
        ({"quantity": "1e-3"}, -1100, "'quantity'"),
        ({"quantity": "0.000000001"}, -1111, "Precision is over the maximum"),
        ({"stopPrice": "1"}, -1106, "'stopPrice' sent when not required"),
        ({"quoteOrderQty": "10"}, -1106, "'quoteOrderQty' sent when not required"),
        ({"newClientOrderId": "has space"}, -1100, "'newClientOrderId'"),
        ({"newClientOrderId": "x" * 37}, -1100, "'newClientOrderId'"),
        ({"newOrderRespType": "ALL"}, -1130, "newOrderRespType"),
        ({"reduceOnly": "true"}, -1104, "Not all sent parameters were read"),
    ],
)
def test_refusals(
    spot_markets: dict[str, Market], changes: dict[str, str | None], code: int, msg_part: str
) -> None:
    params = {**LIMIT, **changes}
    clean = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ApiError) as info:
        parse_new_order(Params(clean), spot_markets)
    assert info.value.code == code
    assert msg_part in info.value.msg


def test_market_needs_exactly_one_of_quantity_and_quote_qty(
    spot_markets: dict[str, Market],
) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}
    with pytest.raises(ApiError, match="'quantity' or 'quoteOrderQty' must be sent"):
        _parse(spot_markets, **base)
    with pytest.raises(ApiError, match="-1106"):
        _parse(spot_markets, **base, quantity="1", quoteOrderQty="10")
    with pytest.raises(ApiError, match="'timeInForce' sent when not required"):
        _parse(spot_markets, **base, quantity="1", timeInForce="GTC")
    assert (
        parse_new_order(Params({**base, "quoteOrderQty": "10"}), spot_markets).quote_order_qty == 10
    )


def test_stop_orders_need_a_stop_price(spot_markets: dict[str, Market]) -> None:
    base = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001"}
    with pytest.raises(ApiError, match="'stopPrice'"):
        _parse(spot_markets, **base, type="STOP_LOSS")
    new = parse_new_order(
        Params({**base, "type": "TAKE_PROFIT_LIMIT", "stopPrice": "70000", "price": "70000",
                "timeInForce": "GTC"}),
        spot_markets,
    )  # fmt: skip
    assert new.stop_price == 70_000
    assert new.resp_type == "ACK"  # Binance's default for the other order types


def test_response_types(spot_markets: dict[str, Market], engine: SpotEngine) -> None:
    order = engine.place(parse_new_order(Params({**LIMIT, "newClientOrderId": "c1"}), spot_markets))
    ack = new_order_view(order, "ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = new_order_view(order, "RESULT")
    assert result["status"] == "NEW"
    assert result["price"] == "60000.00000000"
    assert "fills" not in result
    assert new_order_view(order, "FULL")["fills"] == []
    query = query_view(order)
    assert query["isWorking"] is True
    assert query["origQty"] == "0.00100000"
    assert query["clientOrderId"] == "c1"
