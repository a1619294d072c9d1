"""Binance API errors: ``{"code": -1013, "msg": "Filter failure: LOT_SIZE"}`` and HTTP status.

Every refusal the fake exchange gives goes through :class:`ApiError`, so the codes and messages
that ccxt's binance driver maps to its exception classes live in this one module.
"""

from __future__ import annotations

from collections.abc import Mapping

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."
STOP_WOULD_TRIGGER = "Stop price would trigger immediately."
WOULD_MATCH_AND_TAKE = "Order would immediately match and take."
MARGIN_INSUFFICIENT = "Margin is insufficient."
OCO_PRICES = "The relationship of the prices for the orders is not correct."
REDUCE_ONLY_REJECTED = "ReduceOnly Order is rejected."


class ApiError(Exception):
    """A refusal in Binance's shape; ``status`` is the HTTP status Binance answers it with."""

    def __init__(
        self,
        code: int,
        msg: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def mandatory(param: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed."
    )


def either_mandatory(first: str, second: str) -> ApiError:
    return ApiError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!")


def illegal_chars(param: str, pattern: str) -> ApiError:
    return ApiError(
        -1100, f"Illegal characters found in parameter '{param}'; legal range is '{pattern}'."
    )


def not_required(param: str) -> ApiError:
    return ApiError(-1106, f"Parameter '{param}' sent when not required.")


def filter_failure(name: str) -> ApiError:
    return ApiError(-1013, f"Filter failure: {name}")


def invalid_symbol() -> ApiError:
    return ApiError(-1121, "Invalid symbol.")


def insufficient_balance() -> ApiError:
    return ApiError(-2010, INSUFFICIENT_BALANCE)


def order_rejected(msg: str) -> ApiError:
    return ApiError(-2010, msg)


def unknown_order() -> ApiError:
    return ApiError(-2011, "Unknown order sent.")


def order_does_not_exist() -> ApiError:
    return ApiError(-2013, "Order does not exist.")


def order_list_does_not_exist() -> ApiError:
    return ApiError(-2011, "Order list does not exist.")


def unknown_error() -> ApiError:
    return ApiError(-1000, "An unknown error occured while processing the request.", status=500)
