"""Bybit V5 request parameters: a GET's query string or a POST's JSON body, as text, with typed
getters raising Bybit's 10001 refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fks_fake_exchange.bybit_errors import BybitError, invalid, missing
from fks_fake_exchange.decimals import parse_decimal


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


class BybitParams(Mapping[str, str]):
    """A request's parameters as text (JSON booleans as ``true``/``false``), with typed getters
    that raise Bybit's 10001 refusals."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if value else None

    def require_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise missing(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        text = self.text(name)
        if text is None:
            return None
        value = parse_decimal(text)
        if value is None or not value.is_finite() or value < 0:
            raise invalid(name)
        return value

    def require_decimal(self, name: str) -> Decimal:
        value = self.decimal(name)
        if value is None:
            raise missing(name)
        return value

    def integer(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError:
            raise invalid(name) from None

    def boolean(self, name: str) -> bool:
        text = self.text(name)
        if text is None:
            return False
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise invalid(name)


def parse_params(method: str, raw_query: str, raw_body: str) -> dict[str, str]:
    """GET: the query string; POST: the JSON object body (query parameters too, if any)."""
    values = dict(parse_qsl(raw_query, keep_blank_values=True))
    if method == "POST" and raw_body.strip():
        try:
            body = json.loads(raw_body)
        except ValueError:
            raise BybitError(10001, "params error: the body is not JSON") from None
        if not isinstance(body, dict):
            raise BybitError(10001, "params error: the body must be a JSON object")
        values.update({str(k): _text(v) for k, v in body.items()})
    return values
