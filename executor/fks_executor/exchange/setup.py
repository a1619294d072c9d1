"""Build one ``ccxt.async_support`` instance for one account: the only place ccxt is configured.

The exchange's class is imported on its own (``fks_executor.ccxt_imports.exchange_class``),
never through ``import ccxt``, which would import every exchange ccxt has.

Order matters and is fixed here:

1. constructor config: credentials (only for live clients), ``enableRateLimit`` (on unless the
   account's options say otherwise), the market-loading options for the account's market type
   (the quirks table, ``quirks.py``: only that type's markets are requested), then the
   account's ``options``;
2. ``set_sandbox_mode(True)`` for ``environment: testnet`` (it swaps ``urls['api']`` for
   ``urls['test']``), *before*
3. the ``endpoint`` override, which keeps every API path and swaps the scheme/host (and adds the
   endpoint's own path prefix) of each ``urls['api']`` entry;
4. with an endpoint override on Binance, the error table is chosen by path prefix (ccxt picks it
   by matching the real hostnames, which a local or private URL defeats).

Account ``options`` is a string map in the CR; each value is parsed as JSON when it can be
(``"false"`` -> False, ``"5000"`` -> 5000, ``'{"a": 1}'`` -> a dict) and kept as a string
otherwise. The keys ``enableRateLimit``, ``timeout`` (ms) and ``rateLimit`` (ms) set the ccxt
constructor settings of the same name; every other key goes to ccxt's ``options``.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ccxt.base.errors import NotSupported

from fks_executor.ccxt_imports import exchange_class
from fks_executor.exchange.base import AccountSpec, Credentials
from fks_executor.exchange.quirks import quirks_for

__all__ = ["ExchangeSetupError", "build_ccxt", "parse_options"]

_TOP_LEVEL = frozenset({"enableRateLimit", "timeout", "rateLimit"})


class ExchangeSetupError(ValueError):
    """The account cannot be set up (unknown exchange, no sandbox...): a configuration error."""


def parse_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split account options into (ccxt constructor settings, ccxt ``options``)."""
    top: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, raw in options.items():
        value: Any = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        (top if key in _TOP_LEVEL else rest)[key] = value
    return top, rest


def _override_urls(api: Any, base: str) -> Any:
    if isinstance(api, str):
        parts = urlsplit(api)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(api, dict):
        return {k: _override_urls(v, base) for k, v in api.items()}
    return api


def _path_error_table(ex: Any, base: str, table: Mapping[str, str]) -> None:
    """Make ``ex.get_exceptions_by_url`` pick the error table by path under ``base``."""

    def get_exceptions_by_url(self: Any, url: str | None, exact_or_broad: str) -> dict[str, Any]:
        if not url or not url.startswith(base):
            return {}
        path = url[len(base) :]
        for prefix, key in table.items():
            if path.startswith(prefix):
                tables = self.exceptions.get(key) or {}
                found = tables.get(exact_or_broad) or {}
                return dict(found)
        return {}

    ex.get_exceptions_by_url = types.MethodType(get_exceptions_by_url, ex)


def build_ccxt(
    account: AccountSpec, credentials: Credentials | None, *, websockets: bool = False
) -> Any:
    """A configured, not yet started ccxt async instance (markets not loaded).
    ``websockets``: the exchange's ccxt.pro class where ccxt has one (its websocket urls are
    rewritten by the endpoint override like the REST ones)."""
    exchange_id = account.exchange
    cls = (exchange_class(exchange_id, pro=True) if websockets else None) or exchange_class(
        exchange_id
    )
    if cls is None:
        raise ExchangeSetupError(
            f"accounts[{account.name}].exchange: unknown ccxt exchange {exchange_id!r}"
        )
    quirks = quirks_for(exchange_id)
    top, user_options = parse_options(account.options)
    options: dict[str, Any] = dict(quirks.market_options.get(account.market_type, {}))
    if not quirks.market_options:
        options["defaultType"] = account.market_type
    if account.environment == "testnet":
        options.update(quirks.sandbox_options.get(account.market_type, {}))
    options.update(user_options)
    config: dict[str, Any] = {"enableRateLimit": True, **top, "options": options}
    if credentials is not None:
        config["apiKey"] = credentials.api_key
        config["secret"] = credentials.secret
        if credentials.password:
            config["password"] = credentials.password
    ex = cls(config)
    if quirks.skip_currencies:
        ex.has["fetchCurrencies"] = False  # this instance's copy: load_markets skips the list
    if account.environment == "testnet":
        no_sandbox = ExchangeSetupError(
            f"accounts[{account.name}]: {exchange_id} has no testnet (sandbox) in ccxt for "
            f"{account.market_type} markets; use environment: live with dryRun, or another "
            "exchange"
        )
        if not ex.urls.get("test"):
            raise no_sandbox
        try:
            ex.set_sandbox_mode(True)
        except NotSupported:
            raise no_sandbox from None
    endpoint = (account.endpoint or "").strip().rstrip("/")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ExchangeSetupError(
                f"accounts[{account.name}].endpoint: {endpoint!r} is not an http(s) base URL"
            )
        ex.urls["api"] = _override_urls(ex.urls["api"], endpoint)
        if quirks.error_table_by_path:
            _path_error_table(ex, endpoint, quirks.error_table_by_path)
    return ex
