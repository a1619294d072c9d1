"""Spot orders: the validated request (:class:`NewOrder`), the order record (:class:`SpotOrder`)
and the JSON Binance answers with (ACK / RESULT / FULL, query, cancel)."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from fks_fake_exchange.decimals import ZERO, fmt8
from fks_fake_exchange.errors import (
    ApiError,
    either_mandatory,
    illegal_chars,
    invalid_symbol,
    mandatory,
    not_required,
)
from fks_fake_exchange.markets import Market
from fks_fake_exchange.params import Params

Side = Literal["BUY", "SELL"]

ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
MARKET_LIKE = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT"})
NEEDS_TIME_IN_FORCE = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
NEEDS_PRICE = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})
RESP_TYPES = frozenset({"ACK", "RESULT", "FULL"})
OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})

CLIENT_ORDER_ID_PATTERN = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
CLIENT_ORDER_ID_RE = re.compile(CLIENT_ORDER_ID_PATTERN)
MAX_DECIMALS = 8

# Parameters POST /api/v3/order reads; anything else is refused with -1104 like Binance does.
ORDER_PARAMS = frozenset(
    {
        "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
        "newClientOrderId", "strategyId", "strategyType", "stopPrice", "trailingDelta",
        "icebergQty", "newOrderRespType", "selfTradePreventionMode", "pegPriceType",
        "pegOffsetValue", "pegOffsetType", "recvWindow", "timestamp", "signature",
    }
)  # fmt: skip


@dataclass(frozen=True)
class NewOrder:
    market: Market
    side: Side
    type: str
    time_in_force: str | None
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None
    resp_type: str


@dataclass
class Fill:
    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool


@dataclass
class SpotOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: str
    time_in_force: str | None
    price: Decimal
    stop_price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    update_time: int
    working_time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumm_quote_qty: Decimal = ZERO
    locked_asset: str | None = None
    locked_amount: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    order_list_id: int = -1

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_stop(self) -> bool:
        return self.type in STOP_TYPES

    @property
    def is_working(self) -> bool:
        return self.working_time >= 0


@dataclass
class OrderList:
    """An OCO order list (two legs, one execution)."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    order_ids: tuple[int, int]
    transaction_time: int


def generate_client_order_id() -> str:
    """Binance's style for orders sent without one: 22 random letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(22))


def _check_precision(value: Decimal | None) -> None:
    """More than 8 significant decimals is -1111 (trailing zeros do not count)."""
    if value is None:
        return
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise ApiError(-1111, "Precision is over the maximum defined for this asset.")


def parse_new_order(
    params: Params, markets: dict[str, Market], *, check_unread: bool = True
) -> NewOrder:
    """Validate POST /api/v3/order parameters the way Binance does, before any filter."""
    unread = sorted(set(params) - ORDER_PARAMS) if check_unread else []
    if unread:
        raise ApiError(
            -1104,
            f"Not all sent parameters were read; read '{len(params) - len(unread)}' "
            f"parameter(s) but was sent '{len(params)}'.",
        )
    symbol = params.require_text("symbol")
    market = markets.get(symbol)
    if market is None:
        raise invalid_symbol()
    side = params.require_text("side")
    if side not in ("BUY", "SELL"):
        raise ApiError(-1117, "Invalid side.")
    order_type = params.require_text("type")
    if order_type not in ORDER_TYPES:
        raise ApiError(-1116, "Invalid orderType.")
    if order_type not in market.order_types:
        raise ApiError(-1013, "Order type not supported for this symbol.")

    time_in_force = params.text("timeInForce")
    if order_type in NEEDS_TIME_IN_FORCE:
        if time_in_force is None:
            raise mandatory("timeInForce")
        if time_in_force not in TIME_IN_FORCE:
            raise ApiError(-1115, "Invalid timeInForce.")
    elif time_in_force is not None:
        raise not_required("timeInForce")

    quantity = params.decimal("quantity")
    quote_order_qty = params.decimal("quoteOrderQty")
    if order_type == "MARKET":
        if quantity is None and quote_order_qty is None:
            raise either_mandatory("quantity", "quoteOrderQty")
        if quantity is not None and quote_order_qty is not None:
            raise not_required("quoteOrderQty")
    else:
        if quote_order_qty is not None:
            raise not_required("quoteOrderQty")
        if quantity is None:
            raise mandatory("quantity")

    price = params.decimal("price")
    if order_type in NEEDS_PRICE:
        if price is None:
            raise mandatory("price")
    elif price is not None:
        raise not_required("price")

    stop_price = params.decimal("stopPrice")
    if order_type in STOP_TYPES:
        if stop_price is None:
            raise mandatory("stopPrice")
    elif stop_price is not None:
        raise not_required("stopPrice")
    if params.text("trailingDelta") is not None:
        raise ApiError(-1128, "Combination of optional parameters invalid.")

    for value in (quantity, quote_order_qty, price, stop_price):
        _check_precision(value)

    client_order_id = params.text("newClientOrderId")
    if client_order_id is not None and not CLIENT_ORDER_ID_RE.match(client_order_id):
        raise illegal_chars("newClientOrderId", CLIENT_ORDER_ID_PATTERN)

    default_resp = "FULL" if order_type in ("MARKET", "LIMIT") else "ACK"
    resp_type = params.text("newOrderRespType") or default_resp
    if resp_type not in RESP_TYPES:
        raise ApiError(-1130, "Invalid data sent for a parameter 'newOrderRespType'.")

    return NewOrder(
        market=market,
        side="BUY" if side == "BUY" else "SELL",
        type=order_type,
        time_in_force=time_in_force,
        quantity=quantity,
        quote_order_qty=quote_order_qty,
        price=price,
        stop_price=stop_price,
        client_order_id=client_order_id,
        resp_type=resp_type,
    )


# --- views ---------------------------------------------------------------------------------------


def _common(order: SpotOrder) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
    }


def _result_fields(order: SpotOrder) -> dict[str, object]:
    result: dict[str, object] = {
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "origQuoteOrderQty": fmt8(order.orig_quote_qty),
        "cummulativeQuoteQty": fmt8(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force or "GTC",
        "type": order.type,
        "side": order.side,
    }
    if order.is_stop:
        result["stopPrice"] = fmt8(order.stop_price)
    result["workingTime"] = order.working_time
    result["selfTradePreventionMode"] = "EXPIRE_MAKER"
    return result


def fill_view(fill: Fill) -> dict[str, object]:
    return {
        "price": fmt8(fill.price),
        "qty": fmt8(fill.qty),
        "commission": fmt8(fill.commission),
        "commissionAsset": fill.commission_asset,
        "tradeId": fill.trade_id,
    }


def new_order_view(order: SpotOrder, resp_type: str) -> dict[str, object]:
    """The answer to POST /api/v3/order for ``newOrderRespType`` ACK, RESULT or FULL."""
    view = _common(order)
    view["transactTime"] = order.time
    if resp_type == "ACK":
        return view
    view.update(_result_fields(order))
    if resp_type == "FULL":
        view["fills"] = [fill_view(f) for f in order.fills]
    return view


def query_view(order: SpotOrder) -> dict[str, object]:
    """GET /api/v3/order, openOrders, allOrders."""
    return {
        **_common(order),
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "cummulativeQuoteQty": fmt8(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force or "GTC",
        "type": order.type,
        "side": order.side,
        "stopPrice": fmt8(order.stop_price),
        "icebergQty": fmt8(ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.is_working,
        "workingTime": order.working_time,
        "origQuoteOrderQty": fmt8(order.orig_quote_qty),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def cancel_view(order: SpotOrder, cancel_client_id: str, now_ms: int) -> dict[str, object]:
    """DELETE /api/v3/order: ``clientOrderId`` is the cancel request's own id."""
    view: dict[str, object] = {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_client_id,
        "transactTime": now_ms,
    }
    view.update(_result_fields(order))
    view.pop("workingTime", None)
    return view


def trade_view(fill: Fill) -> dict[str, object]:
    """GET /api/v3/myTrades."""
    return {
        "symbol": fill.symbol,
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": fmt8(fill.price),
        "qty": fmt8(fill.qty),
        "quoteQty": fmt8(fill.quote_qty),
        "commission": fmt8(fill.commission),
        "commissionAsset": fill.commission_asset,
        "time": fill.time,
        "isBuyer": fill.side == "BUY",
        "isMaker": fill.is_maker,
        "isBestMatch": True,
    }


# --- OCO order lists -------------------------------------------------------------------------

OCO_LEG_TYPES = frozenset(
    {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
)
_LEG_FIELDS = {
    "Type": "type",
    "ClientOrderId": "newClientOrderId",
    "Price": "price",
    "StopPrice": "stopPrice",
    "TimeInForce": "timeInForce",
}
OCO_PARAMS = frozenset(
    {"symbol", "listClientOrderId", "side", "quantity", "newOrderRespType",
     "selfTradePreventionMode", "recvWindow", "timestamp", "signature"}
    | {f"{leg}{name}" for leg in ("above", "below") for name in _LEG_FIELDS}
    | {f"{leg}{name}" for leg in ("above", "below")
       for name in ("IcebergQty", "StrategyId", "StrategyType", "TrailingDelta", "PegPriceType",
                    "PegOffsetType", "PegOffsetValue")}
)  # fmt: skip


@dataclass(frozen=True)
class NewOrderList:
    above: NewOrder
    below: NewOrder
    list_client_order_id: str | None
    resp_type: str


def parse_oco(params: Params, markets: dict[str, Market]) -> NewOrderList:
    """POST /api/v3/orderList/oco: two legs (above and below the price), same side and quantity."""
    unread = sorted(set(params) - OCO_PARAMS)
    if unread:
        raise ApiError(
            -1104,
            f"Not all sent parameters were read; read '{len(params) - len(unread)}' "
            f"parameter(s) but was sent '{len(params)}'.",
        )
    legs: list[NewOrder] = []
    for leg in ("above", "below"):
        leg_type = params.require_text(f"{leg}Type")
        if leg_type not in OCO_LEG_TYPES:
            raise ApiError(-1116, "Invalid orderType.")
        fields = {
            target: params[f"{leg}{suffix}"]
            for suffix, target in _LEG_FIELDS.items()
            if f"{leg}{suffix}" in params
        }
        for shared in ("symbol", "side", "quantity"):
            if shared in params:
                fields[shared] = params[shared]
        fields["newOrderRespType"] = "ACK"
        legs.append(parse_new_order(Params(fields), markets, check_unread=False))
    resp_type = params.text("newOrderRespType") or "FULL"
    if resp_type not in RESP_TYPES:
        raise ApiError(-1130, "Invalid data sent for a parameter 'newOrderRespType'.")
    client_id = params.text("listClientOrderId")
    if client_id is not None and not CLIENT_ORDER_ID_RE.match(client_id):
        raise illegal_chars("listClientOrderId", CLIENT_ORDER_ID_PATTERN)
    return NewOrderList(
        above=legs[0], below=legs[1], list_client_order_id=client_id, resp_type=resp_type
    )


def list_view(
    order_list: OrderList, legs: list[SpotOrder], resp_type: str | None
) -> dict[str, object]:
    """An order list; with ``resp_type`` (create / cancel answers) the legs' reports too."""
    done = not any(leg.is_open for leg in legs)
    view: dict[str, object] = {
        "orderListId": order_list.order_list_id,
        "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.transaction_time,
        "symbol": order_list.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in legs
        ],
    }
    if resp_type is not None:
        view["orderReports"] = [
            new_order_view(o, "RESULT" if resp_type == "ACK" else resp_type) for o in legs
        ]
    return view
