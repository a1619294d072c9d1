"""Binance's filter rules and the exchangeInfo ccxt reads them from."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fks_fake_exchange.errors import ApiError
from fks_fake_exchange.markets import (
    Market,
    check_futures_price,
    check_futures_qty,
    check_lot,
    check_notional,
    check_price,
    futures_exchange_info,
    spot_exchange_info,
)

D = Decimal


def _fails(call: object, *args: object, msg: str, **kwargs: object) -> None:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert info.value.msg == msg


def test_price_filter(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    check_price(btc, D("68000.01"))
    check_price(btc, D("0.01"))
    for bad in ("68000.005", "0.001", "1000000.01"):
        _fails(check_price, btc, D(bad), msg="Filter failure: PRICE_FILTER")


def test_lot_size(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    check_lot(btc, D("0.00001"), is_market=False)
    check_lot(btc, D("9000"), is_market=False)
    for bad in ("0.000001", "0.000015", "9000.00001"):
        _fails(check_lot, btc, D(bad), is_market=False, msg="Filter failure: LOT_SIZE")
    _fails(check_lot, btc, D("121"), is_market=True, msg="Filter failure: MARKET_LOT_SIZE")


def test_notional(spot_markets: dict[str, Market]) -> None:
    btc = spot_markets["BTCUSDT"]
    check_notional(btc, D(5))
    _fails(check_notional, btc, D("4.99"), msg="Filter failure: NOTIONAL")
    _fails(check_notional, btc, D("9000000.01"), msg="Filter failure: NOTIONAL")


def test_futures_checks(markets: tuple[dict[str, Market], dict[str, Market]]) -> None:
    btc = markets[1]["BTCUSDT"]
    check_futures_price(btc, D("68000.1"))
    with pytest.raises(ApiError, match="-4014"):
        check_futures_price(btc, D("68000.15"))
    check_futures_qty(btc, D("0.002"), D(68_000), is_market=True, reduce_only=False)
    with pytest.raises(ApiError, match="-1111"):
        check_futures_qty(btc, D("0.0015"), D(68_000), is_market=True, reduce_only=False)
    with pytest.raises(ApiError, match="-4164"):
        check_futures_qty(btc, D("0.001"), D(68_000), is_market=True, reduce_only=False)
    check_futures_qty(btc, D("0.001"), D(68_000), is_market=True, reduce_only=True)
    with pytest.raises(ApiError, match="-4005"):
        check_futures_qty(btc, D(121), D(68_000), is_market=True, reduce_only=False)


def test_spot_exchange_info_shape(spot_markets: dict[str, Market]) -> None:
    info = spot_exchange_info(list(spot_markets.values()), 1)
    symbols = info["symbols"]
    assert isinstance(symbols, list)
    btc = symbols[0]
    assert btc["symbol"] == "BTCUSDT"
    assert btc["status"] == "TRADING"
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"] == {
        "filterType": "LOT_SIZE",
        "minQty": "0.00001000",
        "maxQty": "9000.00000000",
        "stepSize": "0.00001000",
    }
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert set(btc["orderTypes"]) >= {
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    }


def test_futures_exchange_info_shape(markets: tuple[dict[str, Market], dict[str, Market]]) -> None:
    info = futures_exchange_info(list(markets[1].values()), 1)
    symbols = info["symbols"]
    assert isinstance(symbols, list)
    btc = symbols[0]
    assert (btc["contractType"], btc["marginAsset"]) == ("PERPETUAL", "USDT")
    assert (btc["pricePrecision"], btc["quantityPrecision"]) == (1, 3)
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["MIN_NOTIONAL"] == {"filterType": "MIN_NOTIONAL", "notional": "100"}
