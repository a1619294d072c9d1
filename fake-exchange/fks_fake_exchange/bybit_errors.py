"""Bybit V5 refusals: ``{"retCode": 110072, "retMsg": "...", "result": {}, ...}`` in HTTP 200.

Every refusal the Bybit venue gives goes through :class:`BybitError`; the shared engines raise
Binance-shaped :class:`~fks_fake_exchange.errors.ApiError`, which :func:`from_engine` translates
here, in one place, into the retCode Bybit gives for the same refusal (by category: spot codes
are 170xxx, linear ones 110xxx). The retCodes are the ones ccxt's bybit driver maps to its
exception classes (``ccxt/bybit.py``, ``exceptions.exact``). Messages never echo input values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from fks_fake_exchange import errors
from fks_fake_exchange.errors import ApiError

Category = Literal["spot", "linear"]

PARAMS_ERROR = 10001
TIMESTAMP_ERROR = 10002
INVALID_API_KEY = 10003
INVALID_SIGN = 10004
TOO_MANY_VISITS = 10006
SERVER_ERROR = 10016
UNIFIED_FORBIDDEN = 100028

ORDER_NOT_FOUND = 110001
MARGIN_NOT_ENOUGH = 110007
ORDER_FINISHED = 110008
REDUCE_ONLY_RULE = 110017
POSITION_MODE_POSITION = 110024
POSITION_MODE_NOT_MODIFIED = 110025
POSITION_MODE_ORDERS = 110028
LEVERAGE_NOT_MODIFIED = 110043
MARGIN_INSUFFICIENT_FOR_LEVERAGE = 110044
DUPLICATE_ORDER_LINK_ID = 110072
EXPECT_RISING = 110092
EXPECT_FALLING = 110093
ORDER_VALUE_TOO_LOW = 110094
SET_MARGIN_MODE_FAILED = 3400045

SPOT_QTY_TOO_LARGE = 170135
SPOT_QTY_TOO_SMALL = 170136
SPOT_QTY_DECIMALS = 170137
SPOT_VALUE_TOO_LOW = 170140
SPOT_AMOUNT_TOO_LARGE = 170124
SPOT_PRICE_TOO_HIGH = 170132
SPOT_PRICE_TOO_LOW = 170133
SPOT_PRICE_DECIMALS = 170134
SPOT_BALANCE = 170131
SPOT_MARKET_AMOUNT_DECIMALS = 170148
SPOT_ORDER_NOT_FOUND = 170213
SPOT_POST_ONLY_PRICE = 170218
SPOT_NOT_SUPPORTED = 170227


class BybitError(Exception):
    """A refusal in Bybit's envelope; HTTP 200 unless ``status`` says otherwise."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        result: Mapping[str, object] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.result: dict[str, object] = dict(result or {})
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})

    def body(self, now_ms: int) -> dict[str, object]:
        return {
            "retCode": self.code,
            "retMsg": self.msg,
            "result": self.result,
            "retExtInfo": {},
            "time": now_ms,
        }


def ok_body(result: object, now_ms: int) -> dict[str, object]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms}


def params_error(msg: str) -> BybitError:
    return BybitError(PARAMS_ERROR, msg)


def missing(name: str) -> BybitError:
    return BybitError(PARAMS_ERROR, f"Missing some parameters that must filled in, {name}")


def invalid(name: str) -> BybitError:
    return BybitError(PARAMS_ERROR, f"params error: {name} invalid")


def not_supported(what: str) -> BybitError:
    """Something real Bybit does that this fake exchange does not (docs/fake-exchange.md)."""
    return BybitError(PARAMS_ERROR, f"not supported by fks-fake-exchange: {what}")


def order_not_found(category: Category) -> BybitError:
    if category == "spot":
        return BybitError(SPOT_ORDER_NOT_FOUND, "Order does not exist.")
    return BybitError(ORDER_NOT_FOUND, "Order does not exist.")


def duplicate_link_id() -> BybitError:
    return BybitError(DUPLICATE_ORDER_LINK_ID, "OrderLinkedID is duplicate")


def server_error() -> BybitError:
    return BybitError(SERVER_ERROR, "Server error.")


_SPOT_BY_MSG = {
    errors.INSUFFICIENT_BALANCE: (SPOT_BALANCE, "Insufficient balance."),
    errors.DUPLICATE_ORDER: (DUPLICATE_ORDER_LINK_ID, "OrderLinkedID is duplicate"),
    errors.WOULD_MATCH_AND_TAKE: (
        SPOT_POST_ONLY_PRICE,
        "The LIMIT-MAKER order is rejected due to invalid price.",
    ),
    errors.STOP_WOULD_TRIGGER: (PARAMS_ERROR, "Trigger price would trigger immediately."),
}
_LINEAR_BY_CODE = {
    -2019: (MARGIN_NOT_ENOUGH, "ab not enough for new order"),
    -2022: (REDUCE_ONLY_RULE, "Reduce-only rule not satisfied"),
    -4116: (DUPLICATE_ORDER_LINK_ID, "OrderLinkedID is duplicate"),
    -2021: (PARAMS_ERROR, "Trigger price would trigger immediately."),
}


def from_engine(error: ApiError, category: Category) -> BybitError:
    """The Bybit refusal for a refusal of a shared engine (Binance codes inside)."""
    if error.code in (-2011, -2013):
        return order_not_found(category)
    if category == "spot":
        found = _SPOT_BY_MSG.get(error.msg)
        if found is not None:
            return BybitError(*found)
        if error.code == -1013:
            return BybitError(PARAMS_ERROR, "Order does not meet the symbol's filters.")
    else:
        found = _LINEAR_BY_CODE.get(error.code)
        if found is not None:
            return BybitError(*found)
    return BybitError(PARAMS_ERROR, "params error")
