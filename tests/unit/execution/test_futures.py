"""Futures settings, the pure parts (docs/trading.md#futures-settings): which settings differ,
the venue codes that mean "already set" or "refused for open positions/orders", the margin
check, hedge-mode legs, and the dry-run state (nothing read or sent)."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt
import pytest

from fks_executor.config import FuturesSettings
from fks_executor.domain import Action, Position, Signal
from fks_executor.errors import InsufficientFunds
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.futures import (
    _ALREADY_SET,
    _REFUSED_OPEN,
    FuturesBook,
    VenueSettings,
    _codes,
    differences,
)
from fks_executor.exchange.margin import FuturesState, check_margin
from fks_executor.exchange.plan import Capabilities, plan_close, plan_entry
from fks_executor.sizing import SizingRules

from .markets_fixture import BTC_PERP, BTC_USDT

ETH = "ETH/USDT:USDT"


def settings(**kw: Any) -> FuturesSettings:
    return FuturesSettings.model_validate(kw)


def test_only_configured_settings_that_differ_are_applied_position_mode_first() -> None:
    venue = VenueSettings(leverage=20, margin_mode="cross", hedged=False)
    assert differences(settings(), BTC_PERP.symbol, venue) == []
    wanted = settings(leverage=5, marginMode="isolated", positionMode="hedge")
    assert differences(wanted, BTC_PERP.symbol, venue) == [
        ("positionMode", "hedge", "oneway"),
        ("marginMode", "isolated", "cross"),
        ("leverage", "5", "20"),
    ]
    same = settings(leverage=20, marginMode="cross", positionMode="oneway")
    assert differences(same, BTC_PERP.symbol, venue) == []


def test_leverage_by_symbol_wins_over_leverage() -> None:
    wanted = settings(leverage=5, leverageBySymbol={ETH: 3})
    venue = VenueSettings(leverage=5, margin_mode="cross", hedged=False)
    assert differences(wanted, BTC_PERP.symbol, venue) == []
    assert differences(wanted, ETH, venue) == [("leverage", "3", "5")]


@pytest.mark.parametrize(
    ("message", "meaning"),
    [
        ('binanceusdm {"code":-4046,"msg":"No need to change margin type."}', "set"),
        ('binanceusdm {"code":-4059,"msg":"No need to change position side."}', "set"),
        ('bybit {"retCode":110043,"retMsg":"leverage not modified","time":1733212800000}', "set"),
        ('bybit {"retCode":110025,"retMsg":"Position mode is not modified"}', "set"),
        ('binanceusdm {"code":-4048,"msg":"Margin type cannot be changed"}', "refused"),
        ('binanceusdm {"code":-4161,"msg":"Leverage reduction is not supported"}', "refused"),
        ('bybit {"retCode":110028,"retMsg":"Open orders exist"}', "refused"),
        ('bybit {"retCode":3400045,"result":{"reasons":[{"reasonCode":"3400101"}]}}', "refused"),
        ('binanceusdm {"code":-1021,"msg":"Timestamp outside recvWindow"}', "other"),
        ('bybit {"retCode":10001,"retMsg":"params error","time":1733212800110043}', "other"),
    ],
)
def test_venue_codes(message: str, meaning: str) -> None:
    codes = _codes(ccxt.ExchangeError(message))
    found = "set" if codes & _ALREADY_SET else "refused" if codes & _REFUSED_OPEN else "other"
    assert found == meaning


def test_margin_check_refuses_an_entry_beyond_the_free_collateral() -> None:
    check_margin(BTC_PERP, "buy", 0.2, 68_000, 2, free=10_000, position_base=0)  # 6,800
    with pytest.raises(InsufficientFunds, match=r"10200\.00 USDT of margin at 2x") as refused:
        check_margin(BTC_PERP, "buy", 0.3, 68_000, 2, free=10_000, position_base=0)
    assert "68000" not in refused.value.detail  # no input value echoed beyond the margin


def test_margin_check_counts_only_what_an_entry_opens_in_one_way_mode() -> None:
    # selling 0.3 against a 0.25 long opens 0.05 short: 1,700 at 2x
    check_margin(BTC_PERP, "sell", 0.3, 68_000, 2, free=2_000, position_base=0.25)
    with pytest.raises(InsufficientFunds):
        check_margin(BTC_PERP, "sell", 0.3, 68_000, 2, free=1_000, position_base=0.25)
    with pytest.raises(InsufficientFunds):  # buying more of the long opens it all
        check_margin(BTC_PERP, "buy", 0.3, 68_000, 2, free=2_000, position_base=0.25)


def _signal(**kw: Any) -> Signal:
    values: dict[str, Any] = {"signal_id": "s-1", "symbol": "BTCUSDT", "timestamp": 0.0}
    return Signal(**{"action": Action.BUY, **values, **kw})


def _entry(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "pipeline": "p",
        "account": "a",
        "exchange": "binanceusdm",
        "market": BTC_PERP,
        "caps": Capabilities(attached_tp_sl=False, stop_loss_orders=True, take_profit_orders=True),
        "rules": SizingRules(max_position_size_usd=100_000, max_order_size_usd=100_000),
        "reference_price": 68_000.0,
        "balance_usd": 10_000.0,
    }
    return plan_entry(_signal(amount=0.1, stop_loss=60_000), **(args | kw))


def test_hedge_mode_orders_carry_their_position_side() -> None:
    plan = _entry(futures=FuturesState(10, True))
    assert plan.entry_params()["hedged"] is True
    (stop,) = plan.protective
    assert stop.ccxt_params() == {
        "clientOrderId": stop.client_order_id,
        "stopLossPrice": 60_000,
        "reduceOnly": True,
        "hedged": True,
    }
    assert "hedged" not in _entry(futures=FuturesState(10)).entry_params()


def test_the_plan_checks_the_margin_with_the_leverage_it_is_given() -> None:
    _entry(futures=FuturesState(1), balance_usd=6_800.0)  # 0.1 at 68,000: 6,800 of margin at 1x
    with pytest.raises(InsufficientFunds):
        _entry(futures=FuturesState(1), balance_usd=6_799.0)
    _entry(futures=FuturesState(None), balance_usd=0.0)  # no spec.futures: the venue checks
    # hedge mode: a buy opens the long side whatever the short side holds
    with pytest.raises(InsufficientFunds):
        _entry(futures=FuturesState(1, True), balance_usd=100.0, position_base=-1.0)
    # one-way: the buy only reduces the short
    _entry(futures=FuturesState(1), balance_usd=100.0, position_base=-1.0)


@pytest.mark.parametrize(
    ("position", "sides"),
    [
        (None, [("sell", Leg.CLOSE), ("buy", Leg.CLOSE_SHORT)]),
        (Position.FLAT, [("sell", Leg.CLOSE), ("buy", Leg.CLOSE_SHORT)]),
        (Position.LONG, [("sell", Leg.CLOSE)]),
        (Position.SHORT, [("buy", Leg.CLOSE_SHORT)]),
    ],
)
def test_hedge_close_closes_the_named_side_or_both(
    position: Position | None, sides: list[tuple[str, Leg]]
) -> None:
    signal = _signal(action=Action.CLOSE, position=position)
    plan = plan_close(
        signal, pipeline="p", account="a", market=BTC_PERP, reference_price=68_000, hedged=True
    )
    assert [(leg.side, leg.client_order_id) for leg in plan.hedge_closes] == [
        (side, client_order_id("p", "a", "s-1", leg)) for side, leg in sides
    ]
    assert all(leg.reduce_only and leg.hedged for leg in plan.hedge_closes)
    assert plan.entry == plan.hedge_closes[0]
    one_way = plan_close(signal, pipeline="p", account="a", market=BTC_PERP, reference_price=1.0)
    assert one_way.hedge_closes == ()


class _Paper:
    """A dry-run client: prepare must neither read nor send (no venue is given)."""

    dry_run = True
    venue: Any = None


async def test_dry_run_takes_the_configured_values_and_sends_nothing() -> None:
    from fks_executor.config import AccountConfig

    account = AccountConfig.model_validate(
        {
            "name": "a",
            "exchange": "binanceusdm",
            "marketType": "swap",
            "futures": {"leverage": 4, "positionMode": "hedge"},
        }
    )
    book = FuturesBook([account])
    state = await book.prepare("a", _Paper(), BTC_PERP, "s-1")  # type: ignore[arg-type]
    assert (state.leverage, state.hedged) == (4, True)
    assert await book.hedged("a", _Paper(), BTC_PERP) is True  # type: ignore[arg-type]
    spot = await book.prepare("a", _Paper(), BTC_USDT, "s-1")  # type: ignore[arg-type]
    assert (spot.leverage, spot.hedged) == (None, False)
    none = await book.prepare("other", _Paper(), BTC_PERP, "s-1")  # type: ignore[arg-type]
    assert (none.leverage, none.hedged) == (None, False)
    assert book.conflicts() == []
