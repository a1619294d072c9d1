"""Alert payloads: raw body -> JSON object -> validated, normalised ``Signal``. Pure functions.

The body is parsed from raw bytes whatever the Content-Type (TradingView sends text/plain when
the alert message is not exactly JSON). The passphrase is taken out of the object before
anything else looks at it, so it cannot reach a log, the audit trail or the journal.

Field aliases (the first name is canonical; sending two names of one field is an error):
``symbol|ticker``, ``action|side``, ``order_type|orderType|type``, ``stop_loss|stopLoss``,
``take_profit|takeProfit``, ``size_usd|sizeUsd|sizeUSD``, ``timestamp|time``, ``id|signal_id``.
Action aliases: ``long`` -> buy, ``short`` -> sell, ``exit``/``flat`` -> close (any case).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from fks_executor.domain import (
    Action,
    OrderType,
    Position,
    Signal,
    TakeProfit,
    TrailingStop,
)
from fks_executor.errors import InvalidJson, InvalidPayload, Stale
from fks_executor.validation import first_problem

__all__ = [
    "MAX_FUTURE_SKEW_SECONDS",
    "build_signal",
    "check_freshness",
    "check_symbol",
    "decode_body",
    "default_signal_id",
    "parse_action",
    "parse_timestamp",
    "take_passphrase",
]

MAX_FUTURE_SKEW_SECONDS = 60.0
#: Numeric timestamps at or above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 1e11

_ALIASES: dict[str, str] = {
    "ticker": "symbol",
    "side": "action",
    "orderType": "order_type",
    "type": "order_type",
    "stopLoss": "stop_loss",
    "takeProfit": "take_profit",
    "sizeUsd": "size_usd",
    "sizeUSD": "size_usd",
    "time": "timestamp",
    "signal_id": "id",
}
_ACTIONS: dict[str, Action] = {
    "buy": Action.BUY,
    "long": Action.BUY,
    "sell": Action.SELL,
    "short": Action.SELL,
    "close": Action.CLOSE,
    "exit": Action.CLOSE,
    "flat": Action.CLOSE,
}
_POSITION_ACTIONS: dict[Any, str] = {"long": "buy", "short": "sell", "flat": "close"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: What a symbol may look like (``BTC/USDT``, ``BTCUSDT``, ``BINANCE:BTCUSDT``, ``BTCUSDT.P``,
#: ``BTC/USDT:USDT``...). Intake checks only this; the exchange layer resolves the symbol
#: through the account's loaded markets (``fks_executor.exchange.markets.resolve_symbol``).
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}$")


_BOM = b"\xef\xbb\xbf"


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> None:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _DuplicateKey


#: Parses only to find a key given twice in one object (orjson, like most parsers, keeps the
#: last one silently; ``"action": "buy", "action": "sell"`` would sell).
_KEY_CHECK = json.JSONDecoder(object_pairs_hook=_unique_keys)


def decode_body(raw: bytes) -> Any:
    """Parse the raw body as JSON (any JSON value); ``InvalidJson`` when it is not JSON.

    Strict (orjson): UTF-8 only (a leading BOM is skipped), no ``NaN``/``Infinity``, numbers
    within a double, nesting at most 1024 deep (a little less for objects and arrays: the
    duplicate-key check runs within Python's recursion limit); and no object, at any depth,
    with the same key twice (RFC 8259 §4: the result would depend on the parser).
    """
    if raw.startswith(_BOM):
        raw = raw[3:]
    if not raw.strip():
        raise InvalidJson("body is empty")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson("body is not valid JSON (UTF-8)") from None
    if isinstance(obj, dict | list):
        try:
            _KEY_CHECK.decode(raw.decode("utf-8"))
        except _DuplicateKey:
            raise InvalidJson("body has an object with the same key twice") from None
        except RecursionError:
            raise InvalidJson("body is nested too deeply") from None
        except ValueError:  # (none known: orjson is the stricter parser)
            raise InvalidJson("body is not valid JSON (UTF-8)") from None
    return obj


def take_passphrase(obj: dict[str, Any]) -> Any:
    """Remove and return ``passphrase`` (whatever its type) so nothing downstream sees it."""
    return obj.pop("passphrase", None)


def default_signal_id(raw: bytes) -> str:
    """The signal id of an alert without ``id``: hex SHA-256 of the raw body."""
    return hashlib.sha256(raw).hexdigest()


def parse_action(value: Any) -> Action:
    if isinstance(value, str):
        action = _ACTIONS.get(value.strip().lower())
        if action is not None:
            return action
    raise ValueError("must be one of buy, sell, close (or long, short, exit, flat)")


def parse_timestamp(value: Any) -> float:
    """Unix seconds, unix milliseconds (number or numeric string) or ISO 8601 -> unix seconds.

    An ISO time without a zone is UTC (TradingView's ``{{time}}``/``{{timenow}}`` carry ``Z``).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("must be unix seconds, unix milliseconds or an ISO 8601 time")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    "must be unix seconds, unix milliseconds or an ISO 8601 time"
                ) from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    else:
        raise ValueError("must be unix seconds, unix milliseconds or an ISO 8601 time")
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number / 1000.0 if abs(number) >= _MS_THRESHOLD else number


def check_freshness(timestamp: float, now: float, max_age: float) -> None:
    """``Stale`` when older than ``max_age`` seconds or more than 60 s in the future."""
    age = now - timestamp
    if age > max_age:
        raise Stale(f"timestamp is {age:.0f} s old (maxSignalAgeSeconds is {max_age:g})")
    if -age > MAX_FUTURE_SKEW_SECONDS:
        raise Stale(
            f"timestamp is {-age:.0f} s in the future (at most {MAX_FUTURE_SKEW_SECONDS:g} s)"
        )


# --- the schema -----------------------------------------------------------------------------


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    return value


def _text(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def check_symbol(value: str) -> str:
    """The symbol without surrounding blanks, or ``ValueError`` when it cannot be one."""
    value = value.strip()
    if not _SYMBOL.match(value):
        raise ValueError("not a symbol (letters, digits and . _ : / - only, at most 64)")
    return value


def _symbol(value: Any) -> Any:
    return check_symbol(value) if isinstance(value, str) else value


PositiveNumber = Annotated[float, BeforeValidator(_number), Field(gt=0, allow_inf_nan=False)]
NonNegativeNumber = Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
Text = Annotated[str, BeforeValidator(_text)]
#: Most take-profit targets one alert may carry.
MAX_TAKE_PROFITS = 10


class _TakeProfit(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)

    price: PositiveNumber
    percent: Annotated[float, BeforeValidator(_number), Field(gt=0, le=100)]
    """Percent of the position closed at ``price``."""


class _TrailingStop(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)

    percent: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=100)] | None = None
    """Callback distance as a percent of the price."""
    amount: PositiveNumber | None = None
    """Callback distance in quote currency."""
    activation_price: PositiveNumber | None = None

    @model_validator(mode="after")
    def _one_distance(self) -> _TrailingStop:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("give exactly one of percent and amount")
        return self


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, hide_input_in_errors=True)

    symbol: Annotated[str, BeforeValidator(_symbol)]
    action: Annotated[Action, BeforeValidator(parse_action)]
    timestamp: Annotated[float, BeforeValidator(parse_timestamp)]
    confidence: Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)] = 1.0
    price: PositiveNumber | None = None
    order_type: Annotated[Literal["market", "limit"], BeforeValidator(_lower)] = "market"
    stop_loss: PositiveNumber | None = None
    take_profit: PositiveNumber | None = None
    amount: PositiveNumber | None = None
    size_usd: PositiveNumber | None = None
    atr: PositiveNumber | None = None
    account: Annotated[Text, Field(min_length=1, max_length=253)] | None = None
    """An account of the pipeline, or ``*`` for every one (fan-out)."""
    take_profits: (
        Annotated[list[_TakeProfit], Field(min_length=1, max_length=MAX_TAKE_PROFITS)] | None
    ) = None
    trailing_stop: _TrailingStop | None = None
    position: Annotated[Position, BeforeValidator(_lower)] | None = None
    position_size: Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)] | None = (
        None
    )
    """``{{strategy.position_size}}``: signed (negative when short); kept as its absolute value."""
    prev_position_size: NonNegativeNumber | None = None
    id: Annotated[Text, Field(min_length=1, max_length=64)] | None = None
    comment: Annotated[str, Field(max_length=1024)] | None = None
    """Free text for the sender's own use; ignored."""

    @model_validator(mode="after")
    def _exits(self) -> _Payload:
        if self.take_profits is not None:
            if self.take_profit is not None:
                raise ValueError("take_profit and take_profits: give one or the other")
            if sum(t.percent for t in self.take_profits) > 100 + 1e-9:
                raise ValueError("take_profits: the percents add up to more than 100")
        return self

    @model_validator(mode="after")
    def _position_size_sign(self) -> _Payload:
        size = self.position_size
        if size is not None and size < 0 and self.position is not Position.SHORT:
            raise ValueError("position_size: negative only for a short position")
        return self


def _canonical(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Map aliases to canonical names; returns (data, canonical -> name as sent)."""
    data: dict[str, Any] = {}
    sent_as: dict[str, str] = {}
    for key, value in obj.items():
        name = _ALIASES.get(key, key)
        if name in data:
            raise InvalidPayload(f"{sent_as[name]}, {key}: the same field given twice")
        data[name] = value
        sent_as[name] = key
    return data, sent_as


def _describe(exc: ValidationError, sent_as: dict[str, str]) -> str:
    problem = first_problem(exc, rename=sent_as)
    if problem.unknown:  # named by the sender: never repeated (it may be anything)
        return "body: a field that is not in the alert schema (docs/executor.md#alerts)"
    return f"{problem.path}: {problem.message}"


def build_signal(obj: dict[str, Any], raw: bytes, default_account: str | None = None) -> Signal:
    """Validate a decoded alert object (passphrase already taken out) into a ``Signal``;
    without ``account`` in the alert, ``default_account``."""
    data, sent_as = _canonical(obj)
    if "action" not in data and "position" in data:
        # a target-position alert may state only where the position should be
        data["action"] = _POSITION_ACTIONS.get(_lower(data["position"]), data["position"])
    try:
        payload = _Payload.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(_describe(exc, sent_as)) from None
    return Signal(
        signal_id=payload.id or default_signal_id(raw),
        symbol=payload.symbol,
        action=payload.action,
        timestamp=payload.timestamp,
        confidence=payload.confidence,
        price=payload.price,
        order_type=OrderType(payload.order_type),
        stop_loss=payload.stop_loss,
        take_profit=payload.take_profit,
        amount=payload.amount,
        size_usd=payload.size_usd,
        atr=payload.atr,
        account=payload.account or default_account,
        take_profits=tuple(TakeProfit(t.price, t.percent) for t in payload.take_profits or ()),
        trailing_stop=None
        if (ts := payload.trailing_stop) is None
        else TrailingStop(ts.percent, ts.amount, ts.activation_price),
        position=payload.position,
        position_size=None if payload.position_size is None else abs(payload.position_size),
        prev_position_size=payload.prev_position_size,
    )
