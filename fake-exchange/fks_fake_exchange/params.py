"""Request parameters as Binance reads them: query string and form body together, typed getters
that refuse bad values with Binance's codes (-1100, -1102, -1105, -1101)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from urllib.parse import parse_qsl

from fks_fake_exchange.decimals import DECIMAL_PATTERN, parse_decimal
from fks_fake_exchange.errors import ApiError, illegal_chars, mandatory

INTEGER_PATTERN = r"^-?[0-9]{1,20}$"


def _pairs(raw: str) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        return parse_qsl(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError(-1100, "Illegal characters found in a parameter.") from None


def merge_params(raw_query: str, raw_body: str) -> dict[str, str]:
    """Query and body parameters; a name sent twice in one part is refused like Binance does,
    and when the same name is in both, the query string's value wins (Binance's rule)."""
    merged: dict[str, str] = {}
    for part in (raw_body, raw_query):
        seen: set[str] = set()
        for key, value in _pairs(part):
            if key in seen:
                raise ApiError(-1101, f"Duplicate values for parameter '{key}'.")
            seen.add(key)
            merged[key] = value
    return merged


class Params(Mapping[str, str]):
    """Read-only parameters with typed, Binance-validated accessors."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def text(self, name: str) -> str | None:
        """The value, or None when absent; an empty value is refused (-1105)."""
        value = self._values.get(name)
        if value is None:
            return None
        if value == "":
            raise ApiError(-1105, f"Parameter '{name}' was empty.")
        return value

    def require_text(self, name: str) -> str:
        value = self._values.get(name)
        if value is None or value == "":
            raise mandatory(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        parsed = parse_decimal(value)
        if parsed is None:
            raise illegal_chars(name, DECIMAL_PATTERN)
        return parsed

    def require_decimal(self, name: str) -> Decimal:
        value = self.decimal(name)
        if value is None:
            raise mandatory(name)
        return value

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise illegal_chars(name, INTEGER_PATTERN) from None

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise ApiError(-1130, f"Invalid data sent for a parameter '{name}'.")
        return lowered == "true"
