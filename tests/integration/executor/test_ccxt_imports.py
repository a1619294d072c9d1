"""fks-executor imports only the ccxt exchange classes its accounts use (docs/executor.md).

``import ccxt`` (or any ``import ccxt.<x>`` before ``fks_executor.ccxt_imports.lazy_packages``
ran) imports all of ccxt's ~100 exchanges twice, ~50 MiB. These tests start the real
``fks-executor`` with ``PYTHONPROFILEIMPORTTIME=1`` (``python -X importtime``: every module
imported is listed on stderr) and fail when a ccxt module beyond those the accounts need is
imported: a stray ``import ccxt`` on the start-up path brings every exchange back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.harness.fake_exchange import FakeExchange
from tests.integration.executor.helpers import running_executor

_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", re.MULTILINE)
#: ccxt's shared machinery (no exchange in it).
_SHARED = ("ccxt.base", "ccxt.async_support.base", "ccxt.static_dependencies")


def _account(name: str, exchange: str, market_type: str, fx: FakeExchange) -> dict[str, Any]:
    return {
        "name": name,
        "exchange": exchange,
        "environment": "live",
        "marketType": market_type,
        "endpoint": fx.base_url,  # nothing may reach a real exchange
        "options": {"enableRateLimit": "false", "timeout": "2000"},
    }


def _ccxt_modules(log: str) -> set[str]:
    """The ccxt modules imported by an ``import`` statement, beyond ccxt's shared machinery.

    ``exchange_class`` imports ``ccxt.async_support.<id>`` with ``importlib.import_module``,
    which ``-X importtime`` does not list; each exchange module's own ``import`` of its
    ``ccxt.abstract.<id>`` (its generated REST API) is listed, and stands for it. ccxt's
    ``__init__`` files import every exchange with ``import`` statements: all listed."""
    return {
        name
        for name in _IMPORTED.findall(log)
        if name.split(".")[0] == "ccxt" and not name.startswith(_SHARED)
    }


def _markets(url: str) -> dict[str, bool]:
    body: dict[str, Any] = httpx.get(f"{url}/ready").json()
    return dict(body.get("markets", {}))


def test_only_the_accounts_exchanges_are_imported(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    accounts = [
        {**_account("spot", "binance", "spot", fake_exchange), "default": True},
        _account("usdm", "binanceusdm", "swap", fake_exchange),
        _account("bybit", "bybit", "spot", fake_exchange),
    ]
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    with running_executor(tmp_path, {"accounts": accounts}, env=env) as ex:
        deadline = time.monotonic() + 30
        while not (_markets(ex.url).get("spot") and _markets(ex.url).get("usdm")):
            assert time.monotonic() < deadline, f"markets never loaded: {_markets(ex.url)}"
            time.sleep(0.2)
        log = ex.process.output()
    assert _ccxt_modules(log) == {
        "ccxt.abstract",
        "ccxt.abstract.binance",
        "ccxt.abstract.binanceusdm",
        "ccxt.abstract.bybit",
    }, log[-3000:]


def test_one_binance_account_imports_one_exchange(
    tmp_path: Path, fake_exchange: FakeExchange
) -> None:
    accounts = [_account("main", "binance", "spot", fake_exchange)]
    env = {"PYTHONPROFILEIMPORTTIME": "1"}
    with running_executor(tmp_path, {"accounts": accounts}, env=env) as ex:
        assert ex.get("/health").status_code == 200
        log = ex.process.output()
    assert _ccxt_modules(log) == {"ccxt.abstract", "ccxt.abstract.binance"}, log[-3000:]
