"""Fault injection: make the next N matching requests slow, fail, or lose their answer.

A fault is armed through the control API (``POST /_fake/faults``) and consumed by the requests
it matches (optional method and path; the path may be a glob such as ``/api/v3/*``). Faults fire
in the order they were added, at most one per request. Kinds:

- ``latency``      wait ``delayMs`` before (``phase: before``) or after handling, then answer.
                   A latency fault without ``method`` also delays order-entry requests over the
                   websocket (Binance's WebSocket API ``order.*``, Bybit's ``/v5/trade``
                   ``order.*``) whose endpoint path it matches, before they are handled
                   (:meth:`FaultBook.take_ws_latency`).
- ``http_error``   answer ``status`` (default 500) with a non-JSON body; nothing is processed.
- ``rate_limit``   429 with Binance's -1003 body and ``Retry-After`` (Bybit: retCode 10006 in
                   HTTP 200 with ``X-Bapi-Limit-*`` headers); nothing is processed.
- ``ban``          418 with Binance's ban body and ``Retry-After`` (Bybit: a bare HTTP 403,
                   "access too frequent"); nothing is processed.
- ``reject``       the venue's error (``preset`` or ``code``/``msg``/``status``); nothing
                   processed. Bybit answers presets with its own retCodes, in HTTP 200.
- ``drop``         close the connection without an answer; nothing is processed.
- ``lost_answer``  process the request (the order is recorded), then ``mode: hang`` (hold the
                   answer ``hangMs``, past the client's timeout) or ``mode: drop`` (close the
                   connection): the order went through but the client never hears it.
"""

from __future__ import annotations

import asyncio
import fnmatch
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fks_fake_exchange import bybit_errors as be
from fks_fake_exchange import errors
from fks_fake_exchange.bybit_errors import BybitError
from fks_fake_exchange.errors import ApiError

FaultKind = Literal["latency", "http_error", "rate_limit", "ban", "reject", "drop", "lost_answer"]
RejectPreset = Literal[
    "insufficient_balance",
    "lot_size",
    "price_filter",
    "notional",
    "duplicate_order",
    "market_closed",
    "unknown_order",
    "order_not_found",
    "invalid_signature",
    "invalid_api_key",
    "timestamp",
    "unknown_error",
    "margin_insufficient",
]

PRESETS: dict[str, tuple[int, str, int]] = {
    "insufficient_balance": (-2010, errors.INSUFFICIENT_BALANCE, 400),
    "lot_size": (-1013, "Filter failure: LOT_SIZE", 400),
    "price_filter": (-1013, "Filter failure: PRICE_FILTER", 400),
    "notional": (-1013, "Filter failure: NOTIONAL", 400),
    "duplicate_order": (-2010, errors.DUPLICATE_ORDER, 400),
    "market_closed": (-1013, "Market is closed.", 400),
    "unknown_order": (-2011, "Unknown order sent.", 400),
    "order_not_found": (-2013, "Order does not exist.", 400),
    "invalid_signature": (-1022, "Signature for this request is not valid.", 400),
    "invalid_api_key": (-2015, "Invalid API-key, IP, or permissions for action.", 401),
    "timestamp": (-1021, "Timestamp for this request is outside of the recvWindow.", 400),
    "unknown_error": (-1000, "An unknown error occured while processing the request.", 500),
    "margin_insufficient": (-2019, errors.MARGIN_INSUFFICIENT, 400),
}

# The same presets on the Bybit venue: (retCode, retMsg), answered in HTTP 200 like Bybit.
BYBIT_PRESETS: dict[str, tuple[int, str]] = {
    "insufficient_balance": (be.MARGIN_NOT_ENOUGH, "ab not enough for new order"),
    "lot_size": (be.PARAMS_ERROR, "Qty invalid: not a multiple of qtyStep"),
    "price_filter": (be.PARAMS_ERROR, "params error: price invalid"),
    "notional": (be.ORDER_VALUE_TOO_LOW, "The order value is below the minimum"),
    "duplicate_order": (be.DUPLICATE_ORDER_LINK_ID, "OrderLinkedID is duplicate"),
    "market_closed": (110066, "No trading is allowed at the current time"),
    "unknown_order": (be.ORDER_NOT_FOUND, "Order does not exist."),
    "order_not_found": (be.ORDER_NOT_FOUND, "Order does not exist."),
    "invalid_signature": (be.INVALID_SIGN, "error sign! please check your signature"),
    "invalid_api_key": (be.INVALID_API_KEY, "API key is invalid."),
    "timestamp": (be.TIMESTAMP_ERROR, "invalid request, please check your server timestamp"),
    "unknown_error": (be.SERVER_ERROR, "Server error."),
    "margin_insufficient": (be.MARGIN_NOT_ENOUGH, "ab not enough for new order"),
}
BYBIT_RATE_LIMIT_MSG = "Too many visits. Exceeded the API Rate Limit."
BYBIT_BAN_MSG = "access too frequent"

RATE_LIMIT_MSG = (
    "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
BAN_MSG = (
    "Way too many requests; IP(127.0.0.1) banned until {until}. "
    "Please use WebSocket Streams for live updates to avoid bans."
)


class FaultSpec(BaseModel):
    """What the control API accepts (camelCase, unknown keys refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    method: str | None = None
    path: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    skip: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    delayMs: Annotated[int, Field(ge=0, le=600_000)] = 0
    phase: Literal["before", "after"] = "before"
    status: Annotated[int, Field(ge=400, le=599)] | None = None
    body: Annotated[str, Field(max_length=10_000)] | None = None
    contentType: str = "text/plain"
    preset: RejectPreset | None = None
    code: int | None = None
    msg: str | None = None
    mode: Literal["hang", "drop"] = "hang"
    hangMs: Annotated[int, Field(ge=0, le=600_000)] = 30_000
    retryAfter: Annotated[int, Field(ge=0, le=86_400)] = 1

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        upper = value.upper()
        if upper not in ("GET", "POST", "PUT", "DELETE"):
            raise ValueError("must be GET, POST, PUT or DELETE")
        return upper

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must start with '/', e.g. /api/v3/order")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if self.kind == "latency" and self.delayMs <= 0:
            raise ValueError("a latency fault needs delayMs > 0")
        if self.kind == "http_error" and self.status is not None and self.status < 500:
            raise ValueError("http_error is for 5xx statuses (use reject, rate_limit or ban)")
        if self.kind == "reject":
            if self.preset is None and (self.code is None or self.msg is None):
                raise ValueError("a reject fault needs a preset, or both code and msg")
            if self.preset is not None and (self.code is not None or self.msg is not None):
                raise ValueError("give either preset or code/msg, not both")
        return self


@dataclass
class Fault:
    id: int
    spec: FaultSpec
    remaining: int
    skip_left: int
    fired: int = 0

    @property
    def active(self) -> bool:
        return self.remaining > 0

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method is not None and self.spec.method != method.upper():
            return False
        pattern = self.spec.path
        if pattern is None:
            return True
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(path, pattern)
        return path == pattern

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            **self.spec.model_dump(exclude_unset=True),
            "remaining": self.remaining,
            "fired": self.fired,
        }

    def error(self, now_ms: int) -> ApiError:
        """The refusal a ``reject``, ``rate_limit`` or ``ban`` fault answers with."""
        spec = self.spec
        if spec.kind == "rate_limit":
            return ApiError(
                -1003, RATE_LIMIT_MSG, status=429, headers={"Retry-After": str(spec.retryAfter)}
            )
        if spec.kind == "ban":
            until = now_ms + spec.retryAfter * 1000
            return ApiError(
                -1003,
                BAN_MSG.format(until=until),
                status=418,
                headers={"Retry-After": str(spec.retryAfter)},
            )
        if spec.preset is not None:
            code, msg, status = PRESETS[spec.preset]
            return ApiError(code, msg, status=spec.status or status)
        assert spec.code is not None
        assert spec.msg is not None
        return ApiError(spec.code, spec.msg, status=spec.status or 400)

    def bybit_error(self) -> BybitError:
        """The Bybit venue's answer to a ``reject`` or ``rate_limit`` fault (retCode 10006 in
        HTTP 200: the API key's rate limit). A ``ban`` is a bare 403 (see app.py)."""
        spec = self.spec
        if spec.kind == "rate_limit":
            headers = {
                "X-Bapi-Limit": "20",
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": "0",
                "Retry-After": str(spec.retryAfter),
            }
            return BybitError(be.TOO_MANY_VISITS, BYBIT_RATE_LIMIT_MSG, headers=headers)
        if spec.preset is not None:
            code, msg = BYBIT_PRESETS[spec.preset]
            return BybitError(code, msg, status=spec.status or 200)
        assert spec.code is not None
        assert spec.msg is not None
        return BybitError(spec.code, spec.msg, status=spec.status or 200)

    def http_body(self) -> tuple[int, str, str]:
        """(status, body, content type) of an ``http_error`` fault."""
        status = self.spec.status or 500
        body = self.spec.body
        if body is None:
            body = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        return status, body, self.spec.contentType


async def delay(fault: Fault | None) -> None:
    """Wait out a ``latency`` fault's delay before a websocket request is handled (both
    phases: the answer's frame has nothing to hold back separately)."""
    if fault is not None:
        await asyncio.sleep(fault.spec.delayMs / 1000)


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self.fired_total = 0

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(id=self._next_id, spec=spec, remaining=spec.count, skip_left=spec.skip)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers (consuming one use), if any."""
        for fault in self._faults:
            if not fault.active or not fault.matches(method, path):
                continue
            if fault.skip_left > 0:
                fault.skip_left -= 1
                continue
            fault.remaining -= 1
            fault.fired += 1
            self.fired_total += 1
            return fault
        return None

    def take_ws_latency(self, path: str) -> Fault | None:
        """The ``latency`` fault (without ``method``) an order-entry request on the websocket
        endpoint ``path`` triggers, consuming one use: the same round trip as a REST order.
        Other kinds stay HTTP-only (a websocket request has no status or body to fail)."""
        for fault in self._faults:
            spec = fault.spec
            if spec.kind != "latency" or spec.method is not None:
                continue
            if not fault.active or not fault.matches("", path):
                continue
            if fault.skip_left > 0:
                fault.skip_left -= 1
                continue
            fault.remaining -= 1
            fault.fired += 1
            self.fired_total += 1
            return fault
        return None

    def active(self) -> list[Fault]:
        return [f for f in self._faults if f.active]

    def all(self) -> list[Fault]:
        return list(self._faults)

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()
