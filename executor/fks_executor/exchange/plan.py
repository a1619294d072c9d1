"""Signal -> order plan: every decision about one signal's orders, made without I/O.

The caller gathers the inputs (the resolved market, the reference price, the balance, the current
position, the ATR) and :func:`plan_entry` / :func:`plan_close` return an :class:`OrderPlan`:
side, type, amount and prices already through the market's precision and checked against its
minimums, the stop-loss/take-profit legs, and the deterministic client order id of each order.
The exchange layer only carries a plan out.

Stop-loss and take-profit (see docs/trading.md, "Stop-loss and take-profit"):

- where the account's capabilities attach them to an entry of this order type (ccxt's
  ``features``, minus what ccxt refuses: ``Capabilities.attaches``): sent with the entry
  (``attached``), the exchange manages them;
- both given on a spot market that takes OCO order lists (``Capabilities.spot_oco`` and the
  market's ``ocoAllowed``; Binance spot): one OCO list after the entry fills (``oco``), so the
  two legs share one balance lock and the survivor is cancelled when the other executes;
- otherwise separate conditional orders on the opposite side, placed after the entry fills:
  on spot the market's listed order types decide between a market trigger (``STOP_LOSS`` /
  ``TAKE_PROFIT``) and a limit trigger (``STOP_LOSS_LIMIT`` with a limit ``stopLimitSlippage``
  beyond the stop, ``TAKE_PROFIT_LIMIT`` at the target); on contracts market triggers with
  ``reduceOnly``;
- a market that can do neither refuses the signal before anything is sent (an entry without the
  protection the alert asked for is not what the trader wanted).
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from fks_executor.domain import Action, OrderType, Signal
from fks_executor.errors import BelowMinimum, InvalidOrder, InvalidPayload
from fks_executor.exchange.client_ids import Leg, client_order_id, pipeline_prefix
from fks_executor.exchange.margin import NO_FUTURES, FuturesState, check_margin, hedge_closes
from fks_executor.exchange.markets import (
    MarketInfo,
    amount_to_precision,
    check_limits,
    price_to_precision,
)
from fks_executor.exchange.quirks import Capabilities
from fks_executor.sizing import SizeDecision, SizingRules, size_position
from fks_executor.values import value

__all__ = [
    "DEFAULT_STOP_LIMIT_SLIPPAGE",
    "Capabilities",
    "OrderLeg",
    "OrderPlan",
    "plan_close",
    "plan_entry",
]

DEFAULT_STOP_LIMIT_SLIPPAGE = 0.005
"""A STOP_LOSS_LIMIT leg's limit price lies this fraction beyond its stop (so it still fills)."""


@value
class OrderLeg:
    """One order to send. ``amount`` None = decided at execution (close: the whole position)."""

    leg: Leg
    client_order_id: str
    side: str  # buy | sell
    type: str  # market | limit (ccxt's unified type)
    amount: float | None
    price: float | None = None  # limit price
    trigger_price: float | None = None  # stop-loss / take-profit trigger
    # (a trailing stop: where it is armed, its activation price or else the entry's price)
    reduce_only: bool = False
    share: float | None = None
    """A ``take_profits`` target: the percent of the position it closes."""
    trail_percent: float | None = None
    """The trailing stop's callback as a percent of the price (venues that trail by percent)."""
    trail_amount: float | None = None
    """... or as a price distance (venues that trail by a distance)."""
    activation_price: float | None = None
    """The trailing stop is armed once this price trades (None: at once)."""
    hedged: bool = False
    """Hedge mode: the order names its position side (ccxt ``hedged``: Binance
    ``positionSide``, Bybit ``positionIdx``; with ``reduce_only``, the side it closes)."""

    @property
    def kind(self) -> str:
        """The OrderResult ``type``: market, limit, stop_loss, take_profit, trailing_stop."""
        if self.leg is Leg.STOP_LOSS:
            return "stop_loss"
        if self.leg is Leg.TAKE_PROFIT or self.leg.target:
            return "take_profit"
        if self.leg is Leg.TRAILING_STOP:
            return "trailing_stop"
        return self.type

    def ccxt_params(self) -> dict[str, Any]:
        """Unified ccxt ``params`` for this leg (client order id, triggers, trailing,
        reduce-only, position side): the one place a leg's params are built."""
        params: dict[str, Any] = {"clientOrderId": self.client_order_id}
        if self.leg is Leg.STOP_LOSS:
            params["stopLossPrice"] = self.trigger_price
        elif self.leg is Leg.TAKE_PROFIT or self.leg.target:
            params["takeProfitPrice"] = self.trigger_price
        elif self.leg is Leg.TRAILING_STOP:
            if self.trail_percent is not None:
                params["trailingPercent"] = self.trail_percent
            else:
                params["trailingAmount"] = self.trail_amount
            if self.activation_price is not None:
                params["trailingTriggerPrice"] = self.activation_price
        if self.reduce_only:
            params["reduceOnly"] = True
        if self.hedged:
            params["hedged"] = True
        return params


@value
class OrderPlan:
    signal_id: str
    pipeline: str
    account: str
    symbol: str
    action: Action
    entry: OrderLeg
    reference_price: float
    protective: tuple[OrderLeg, ...] = ()
    attached: bool = False
    """Protective legs travel with the entry (``stopLoss``/``takeProfit`` params)."""
    sizing: SizeDecision | None = None
    cancel_prefix: str | None = None
    """close: first cancel this pipeline's open orders (client ids with this prefix)."""
    notes: tuple[str, ...] = field(default=())
    oco_list_id: str | None = None
    """Set when the stop-loss and take-profit go out as one OCO order list (its client id)."""
    hedge_closes: tuple[OrderLeg, ...] = ()
    """close in hedge mode: one reduce-only order per side to close (``exchange/hedge.py``)."""

    @property
    def oco(self) -> bool:
        return self.oco_list_id is not None

    def entry_params(self) -> dict[str, Any]:
        params = self.entry.ccxt_params()
        if self.attached:
            for leg in self.protective:
                key = "stopLoss" if leg.leg is Leg.STOP_LOSS else "takeProfit"
                params[key] = {"triggerPrice": leg.trigger_price}
        return params


def _opposite(side: str) -> str:
    return "sell" if side == "buy" else "buy"


def _check_protection(side: str, price: float, sl: float | None, tp: float | None) -> None:
    below, above = ("below", "above") if side == "buy" else ("above", "below")
    if sl is not None and (sl >= price if side == "buy" else sl <= price):
        raise InvalidPayload(f"stop_loss: must be {below} the entry price for a {side}")
    if tp is not None and (tp <= price if side == "buy" else tp >= price):
        raise InvalidPayload(f"take_profit: must be {above} the entry price for a {side}")


def plan_entry(
    signal: Signal,
    *,
    pipeline: str,
    account: str,
    exchange: str,
    market: MarketInfo,
    caps: Capabilities,
    rules: SizingRules,
    reference_price: float | None,
    balance_usd: float,
    position_base: float = 0.0,
    atr_value: float | None = None,
    stop_limit_slippage: float = DEFAULT_STOP_LIMIT_SLIPPAGE,
    futures: FuturesState = NO_FUTURES,
) -> OrderPlan:
    """The plan for a ``buy``/``sell`` signal on a resolved ``market``.

    ``reference_price``: the ticker price, used when the signal carries no ``price`` (the
    signal's ``price`` is the limit price, or the sizing reference for a market order).
    ``position_base``: the signed current position in base units (for ``maxPositionSizeUSD``).
    ``futures`` (contracts with ``spec.futures``): with a ``leverage``, the margin the entry opens
    (notional / leverage) must fit ``balance_usd``, the free collateral, else
    ``insufficient_funds``; ``hedged``: every order names its position side (hedge mode).
    """
    leverage, hedged = futures.leverage, futures.hedged
    if signal.action is Action.CLOSE:
        raise ValueError("plan_entry is for buy/sell; use plan_close")
    side = signal.action.value
    limit = signal.order_type is OrderType.LIMIT
    if limit and signal.price is None:
        raise InvalidPayload("price: required for a limit order")
    price = signal.price if signal.price is not None else reference_price
    if price is None or not math.isfinite(price) or price <= 0:
        raise InvalidPayload("price: no reference price available to size the order")
    if limit:
        price = price_to_precision(market, price)
        if price <= 0:
            raise InvalidOrder(f"price: rounds to 0 on {market.symbol}")
    _check_protection(side, price, signal.stop_loss, signal.take_profit)

    decision = size_position(
        rules=rules,
        side=side,
        price=price,
        balance_usd=balance_usd,
        position_base=position_base,
        stop_loss=signal.stop_loss,
        atr_value=signal.atr if signal.atr is not None else atr_value,
        amount=signal.amount,
        size_usd=signal.size_usd,
    )
    amount = amount_to_precision(market, decision.amount / market.contract_size)
    check_limits(market, amount, price)
    if leverage is not None and market.contract:
        check_margin(
            market,
            side,
            amount * market.contract_size,
            price,
            leverage,
            free=balance_usd,
            position_base=0.0 if hedged else position_base,
        )

    def cid(leg: Leg) -> str:
        return client_order_id(pipeline, account, signal.signal_id, leg)

    entry = OrderLeg(
        leg=Leg.ENTRY,
        client_order_id=cid(Leg.ENTRY),
        side=side,
        type=signal.order_type.value,
        amount=amount,
        price=price if limit else None,
        hedged=hedged,
    )
    protective = tuple(
        _protective_leg(
            leg,
            trigger,
            side=_opposite(side),
            amount=amount,
            market=market,
            attach=caps.attaches(signal.order_type.value),
            caps=caps,
            exchange=exchange,
            cid=cid(leg),
            slippage=stop_limit_slippage,
            hedged=hedged,
        )
        for leg, trigger in (
            (Leg.STOP_LOSS, signal.stop_loss),
            (Leg.TAKE_PROFIT, signal.take_profit),
        )
        if trigger is not None
    )
    attach = bool(protective) and caps.attaches(entry.type)
    notes: tuple[str, ...] = ()
    if protective and not attach and limit:
        notes = ("protective legs are placed only once the limit entry has filled",)
    oco = (
        len(protective) == 2
        and not attach
        and caps.spot_oco
        and not market.contract
        and market.oco_allowed
    )
    return OrderPlan(
        signal_id=signal.signal_id,
        pipeline=pipeline,
        account=account,
        symbol=market.symbol,
        action=signal.action,
        entry=entry,
        reference_price=price,
        protective=protective,
        attached=attach,
        sizing=decision,
        notes=notes,
        oco_list_id=cid(Leg.OCO) if oco else None,
    )


def _protective_leg(
    leg: Leg,
    trigger: float,
    *,
    side: str,
    amount: float,
    market: MarketInfo,
    attach: bool,
    caps: Capabilities,
    exchange: str,
    cid: str,
    slippage: float,
    hedged: bool = False,
) -> OrderLeg:
    what = "stop_loss" if leg is Leg.STOP_LOSS else "take_profit"
    trigger_p = price_to_precision(market, trigger)
    if trigger_p <= 0:
        raise InvalidPayload(f"{what}: rounds to 0 on {market.symbol}")
    if attach:
        return OrderLeg(leg, cid, side, "market", amount, trigger_price=trigger_p)
    supported = caps.stop_loss_orders if leg is Leg.STOP_LOSS else caps.take_profit_orders
    if market.contract:
        kind = "STOP_MARKET" if leg is Leg.STOP_LOSS else "TAKE_PROFIT_MARKET"
        if not supported or not market.supports(kind):
            raise InvalidOrder(f"{what}: {exchange} cannot place {kind} orders on {market.symbol}")
        return OrderLeg(
            leg,
            cid,
            side,
            "market",
            amount,
            trigger_price=trigger_p,
            reduce_only=True,
            hedged=hedged,
        )
    market_kind, limit_kind = (
        ("STOP_LOSS", "STOP_LOSS_LIMIT")
        if leg is Leg.STOP_LOSS
        else ("TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
    )
    if supported and market.supports(market_kind):  # also when the market lists no types
        order_type, limit_price = "market", None
    elif supported and market.supports(limit_kind):
        order_type = "limit"
        if leg is Leg.TAKE_PROFIT:
            limit_price = trigger_p
        else:
            factor = 1 - slippage if side == "sell" else 1 + slippage
            limit_price = price_to_precision(market, trigger_p * factor)
    else:
        raise InvalidOrder(
            f"{what}: {exchange} lists neither {market_kind} nor {limit_kind} orders on "
            f"{market.symbol}; send the signal without {what}"
        )
    try:
        check_limits(market, amount, limit_price or trigger_p, what=f"{what} leg")
    except BelowMinimum as exc:
        raise BelowMinimum(f"{exc.detail} (the leg is refused before the entry is sent)") from None
    return OrderLeg(leg, cid, side, order_type, amount, price=limit_price, trigger_price=trigger_p)


def plan_close(
    signal: Signal,
    *,
    pipeline: str,
    account: str,
    market: MarketInfo,
    reference_price: float | None,
    hedged: bool = False,
) -> OrderPlan:
    """The plan for a ``close``: cancel this pipeline's open orders on the symbol, then
    sell the free base balance (spot) or send a reduce-only order for the open position
    (contracts). The amount (and, for contracts, the side) is read at execution time.

    ``hedged`` (hedge mode): one reduce-only order per side, ``hedge_closes``: the side the
    alert's ``position`` names (``long`` / ``short``), else both (each its own client order
    id: ``cl`` the long side, ``cs`` the short side)."""
    limit = signal.order_type is OrderType.LIMIT
    if limit and signal.price is None:
        raise InvalidPayload("price: required for a limit order")
    price = signal.price if signal.price is not None else reference_price
    if price is None or not math.isfinite(price) or price <= 0:
        raise InvalidPayload("price: no reference price available for the close")
    if limit:
        price = price_to_precision(market, price)
    entry = OrderLeg(
        leg=Leg.CLOSE,
        client_order_id=client_order_id(pipeline, account, signal.signal_id, Leg.CLOSE),
        side="sell",  # contracts: replaced by the side opposite the position at execution
        type=signal.order_type.value,
        amount=None,
        price=price if limit else None,
        reduce_only=market.contract,
    )
    closes = hedge_closes(entry, signal, pipeline=pipeline, account=account) if hedged else ()
    entry = closes[0] if closes else entry
    return OrderPlan(
        signal_id=signal.signal_id,
        pipeline=pipeline,
        account=account,
        symbol=market.symbol,
        action=Action.CLOSE,
        entry=entry,
        reference_price=price,
        cancel_prefix=pipeline_prefix(pipeline),
        hedge_closes=closes,
    )
