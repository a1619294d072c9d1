"""Signal -> order plan (pure): sizing, precision, minimums, legs, client ids."""

from __future__ import annotations

import dataclasses

import pytest

from fks_executor.domain import Action, OrderType, Signal
from fks_executor.errors import BelowMinimum, InvalidOrder, InvalidPayload, RiskLimit
from fks_executor.exchange.client_ids import Leg, client_order_id, pipeline_prefix
from fks_executor.exchange.plan import Capabilities, plan_close, plan_entry
from fks_executor.sizing import SizingMethod, SizingRules

from .markets_fixture import BTC_PERP, BTC_USDT, ETH_BTC

SPOT_CAPS = Capabilities(attached_tp_sl=False, stop_loss_orders=True, take_profit_orders=True)
RULES = SizingRules(max_position_size_usd=1000, max_order_size_usd=10000)


def sig(**kw: object) -> Signal:
    values: dict[str, object] = {
        "signal_id": "sig-1",
        "symbol": "BTCUSDT",
        "action": Action.BUY,
        "timestamp": 0.0,
    }
    values.update(kw)
    return Signal(**values)  # type: ignore[arg-type]


def plan(signal: Signal, market=BTC_USDT, caps=SPOT_CAPS, rules=RULES, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "pipeline": "btc-momentum",
        "account": "binance-testnet",
        "exchange": "binance",
        "market": market,
        "caps": caps,
        "rules": rules,
        "reference_price": 68_000.0,
        "balance_usd": 10_000.0,
    }
    args.update(kw)
    return plan_entry(signal, **args)  # type: ignore[arg-type]


def test_worked_example_becomes_a_capped_market_buy_with_a_stop_leg() -> None:
    p = plan(sig(price=68_000.0, stop_loss=67_000.0))
    assert p.symbol == "BTC/USDT"
    assert p.entry.side == "buy"
    assert p.entry.type == "market"
    assert p.entry.price is None  # market orders carry no price (no quoteOrderQty surprise)
    assert p.entry.amount == 0.01470  # 1000 USD / 68000, truncated to the 0.00001 step
    assert p.sizing is not None
    assert p.sizing.uncapped_notional_usd == pytest.approx(13_600)
    assert p.sizing.capped_by == "maxPositionSizeUSD"
    assert p.entry.client_order_id == client_order_id(
        "btc-momentum", "binance-testnet", "sig-1", Leg.ENTRY
    )
    (sl,) = p.protective
    assert (sl.leg, sl.side, sl.type, sl.trigger_price, sl.price) == (
        Leg.STOP_LOSS,
        "sell",
        "market",  # the market lists STOP_LOSS: a market trigger
        67_000.0,
        None,
    )
    assert sl.ccxt_params() == {"clientOrderId": sl.client_order_id, "stopLossPrice": 67_000.0}
    assert not p.attached


def test_limit_buy_uses_the_rounded_limit_price_for_sizing_and_the_order() -> None:
    p = plan(
        sig(order_type=OrderType.LIMIT, price=67_999.996, size_usd=500.0, stop_loss=60_000.0),
        reference_price=None,
    )
    assert p.entry.type == "limit"
    assert p.entry.price == 68_000.0
    assert p.entry.amount == 0.00735  # 500 / 68000 = 0.0073529..., truncated
    assert p.notes == ("protective legs are placed only once the limit entry has filled",)


def test_limit_without_price_is_invalid_payload() -> None:
    with pytest.raises(InvalidPayload, match=r"^price: required"):
        plan(sig(order_type=OrderType.LIMIT, amount=0.01))


def test_market_without_any_price_is_invalid_payload() -> None:
    with pytest.raises(InvalidPayload, match=r"^price:"):
        plan(sig(amount=0.01), reference_price=None)


def test_take_profit_and_stop_on_the_wrong_side_are_refused() -> None:
    with pytest.raises(InvalidPayload, match=r"^take_profit: must be above"):
        plan(sig(amount=0.01, take_profit=60_000.0))
    with pytest.raises(InvalidPayload, match=r"^stop_loss: must be above"):
        plan(sig(action=Action.SELL, amount=0.01, stop_loss=60_000.0))


def test_sell_entry_legs_are_buys() -> None:
    p = plan(sig(action=Action.SELL, amount=0.01, stop_loss=70_000.0, take_profit=60_000.0))
    assert p.entry.side == "sell"
    assert [(leg.leg, leg.side) for leg in p.protective] == [
        (Leg.STOP_LOSS, "buy"),
        (Leg.TAKE_PROFIT, "buy"),
    ]


def test_limit_trigger_legs_when_the_market_lists_only_stop_limit_types() -> None:
    p = plan(
        sig(symbol="ETHBTC", amount=0.5, stop_loss=0.05, take_profit=0.07),
        market=ETH_BTC,
        reference_price=0.06,
    )
    sl, tp = p.protective
    assert (sl.type, sl.trigger_price, sl.price) == ("limit", 0.05, 0.04975)  # 0.5 % below
    assert (tp.type, tp.trigger_price, tp.price) == ("limit", 0.07, 0.07)
    assert sl.client_order_id.endswith("-sl")
    assert tp.client_order_id.endswith("-tp")


def test_a_market_without_stop_orders_refuses_before_anything_is_sent() -> None:
    bare = dataclasses.replace(BTC_USDT, order_types=("LIMIT", "MARKET"))
    with pytest.raises(InvalidOrder, match="lists neither STOP_LOSS nor STOP_LOSS_LIMIT"):
        plan(sig(amount=0.01, stop_loss=60_000.0), market=bare)


def test_attached_legs_where_the_exchange_supports_them() -> None:
    caps = Capabilities(attached_tp_sl=True)
    p = plan(sig(amount=0.01, stop_loss=60_000.0, take_profit=70_000.0), caps=caps)
    assert p.attached
    assert p.entry_params() == {
        "clientOrderId": p.entry.client_order_id,
        "stopLoss": {"triggerPrice": 60_000.0},
        "takeProfit": {"triggerPrice": 70_000.0},
    }


def test_contract_legs_are_reduce_only_market_triggers() -> None:
    p = plan(
        sig(symbol="BTCUSDT.P", amount=0.01, stop_loss=60_000.0),
        market=BTC_PERP,
        rules=SizingRules(max_position_size_usd=5000),
    )
    (sl,) = p.protective
    assert sl.reduce_only
    assert sl.ccxt_params()["reduceOnly"] is True
    assert p.entry.amount == 0.01


def test_below_minimum_is_refused_before_sending() -> None:
    with pytest.raises(BelowMinimum, match=r"cost is below the minimum 5 USDT") as refused:
        plan(sig(amount=0.00006))
    assert "6e-05" not in refused.value.detail
    assert "4.08" not in refused.value.detail
    with pytest.raises(BelowMinimum, match="rounds to 0"):
        plan(sig(amount=0.000001))


def test_a_leg_below_minimum_refuses_the_whole_signal() -> None:
    # 0.0001 BTC is 6.8 USDT at entry, but 4.0 USDT at the stop: the stop would be refused.
    with pytest.raises(BelowMinimum, match="stop_loss leg cost is below the minimum 5 USDT"):
        plan(sig(amount=0.0001, stop_loss=40_000.0))


def test_sizing_methods_flow_through() -> None:
    p = plan(
        sig(amount=None),
        rules=SizingRules(method=SizingMethod.FIXED_NOTIONAL, notional_usd=100),
    )
    assert p.entry.amount == 0.00147
    p = plan(
        sig(),
        rules=SizingRules(
            method=SizingMethod.VOLATILITY, max_position_size_usd=1e9, max_order_size_usd=1e9
        ),
        atr_value=500.0,
    )
    assert p.entry.amount == 0.2
    with pytest.raises(RiskLimit):
        plan(sig(amount=0.01), position_base=1.0)


def test_close_plan_cancels_own_orders_and_sizes_at_execution() -> None:
    p = plan_close(
        sig(action=Action.CLOSE),
        pipeline="btc-momentum",
        account="binance-testnet",
        market=BTC_USDT,
        reference_price=68_000.0,
    )
    assert p.action is Action.CLOSE
    assert p.entry.amount is None
    assert p.entry.leg is Leg.CLOSE
    assert p.entry.client_order_id.endswith("-cl")
    assert p.cancel_prefix == pipeline_prefix("btc-momentum")
    assert not p.entry.reduce_only
    perp = plan_close(
        sig(action=Action.CLOSE),
        pipeline="x",
        account="y",
        market=BTC_PERP,
        reference_price=68_000.0,
    )
    assert perp.entry.reduce_only


def test_capabilities_from_ccxt_has() -> None:
    caps = Capabilities.from_has(
        {
            "createOrderWithTakeProfitAndStopLoss": False,
            "createStopLossOrder": True,
            "createTakeProfitOrder": True,
            "createReduceOnlyOrder": True,
        }
    )
    assert caps == Capabilities(False, True, True, True)
    assert (
        Capabilities.from_has({"createOrderWithTakeProfitAndStopLoss": "emulated"}).attached_tp_sl
        is False
    )
    assert Capabilities.from_has({"createTriggerOrder": True}).stop_loss_orders


OCO_CAPS = dataclasses.replace(SPOT_CAPS, spot_oco=True)
BTC_OCO = dataclasses.replace(BTC_USDT, oco_allowed=True)


def test_stop_loss_and_take_profit_pair_into_an_oco_list_where_the_market_takes_one() -> None:
    both = sig(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0)
    p = plan(both, market=BTC_OCO, caps=OCO_CAPS)
    assert p.oco
    assert p.oco_list_id == client_order_id("btc-momentum", "binance-testnet", "sig-1", Leg.OCO)
    assert [leg.leg for leg in p.protective] == [Leg.STOP_LOSS, Leg.TAKE_PROFIT]
    # only one leg, no OCO support, or a market that refuses lists: separate legs
    assert not plan(sig(amount=0.01, stop_loss=66_000.0), market=BTC_OCO, caps=OCO_CAPS).oco
    assert not plan(both, market=BTC_OCO, caps=SPOT_CAPS).oco
    assert not plan(both, market=BTC_USDT, caps=OCO_CAPS).oco


def test_the_oco_request_puts_each_leg_on_its_side_of_the_price() -> None:
    from fks_executor.exchange.oco import oco_request, split_reports

    long = plan(sig(amount=0.01, stop_loss=66_000.0, take_profit=70_000.0), market=BTC_OCO,
                caps=OCO_CAPS)  # fmt: skip
    sl, tp = (dataclasses.replace(leg, amount=0.00999) for leg in long.protective)
    assert long.oco_list_id is not None
    request = oco_request(BTC_OCO, sl, tp, long.oco_list_id, amount_text=str, price_text=str)
    assert request == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.00999",
        "listClientOrderId": long.oco_list_id,
        "newOrderRespType": "FULL",
        "aboveType": "TAKE_PROFIT",
        "aboveClientOrderId": tp.client_order_id,
        "aboveStopPrice": "70000.0",
        "belowType": "STOP_LOSS",
        "belowClientOrderId": sl.client_order_id,
        "belowStopPrice": "66000.0",
    }
    short = plan(sig(action=Action.SELL, amount=0.01, stop_loss=70_000.0, take_profit=66_000.0),
                 market=BTC_OCO, caps=OCO_CAPS, rules=dataclasses.replace(RULES,
                 max_position_size_usd=1e9))  # fmt: skip
    ssl, stp = (dataclasses.replace(leg, amount=0.01) for leg in short.protective)
    assert short.oco_list_id is not None
    buy = oco_request(BTC_OCO, ssl, stp, short.oco_list_id, amount_text=str, price_text=str)
    assert (buy["side"], buy["aboveType"], buy["belowType"]) == ("BUY", "STOP_LOSS", "TAKE_PROFIT")
    answer = {"orderReports": [{"clientOrderId": tp.client_order_id}, {"clientOrderId": "x"}]}
    assert list(split_reports(answer, (sl, tp))) == [tp.client_order_id]


def test_oco_limit_legs_carry_price_and_time_in_force() -> None:
    from fks_executor.exchange.oco import oco_request

    eth = dataclasses.replace(ETH_BTC, oco_allowed=True)
    p = plan(sig(symbol="ETHBTC", amount=1.0, stop_loss=0.03, take_profit=0.05), market=eth,
             caps=OCO_CAPS, reference_price=0.04, rules=dataclasses.replace(RULES,
             max_position_size_usd=1e9))  # fmt: skip
    sl, tp = p.protective
    assert p.oco_list_id is not None
    request = oco_request(eth, sl, tp, p.oco_list_id, amount_text=str, price_text=str)
    assert request["belowType"] == "STOP_LOSS_LIMIT"
    assert request["belowTimeInForce"] == "GTC"
    assert float(request["belowPrice"]) < float(request["belowStopPrice"])
    assert (request["aboveType"], request["abovePrice"]) == ("TAKE_PROFIT_LIMIT", "0.05")
