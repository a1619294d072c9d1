"""``fks_executor.ccxt_imports``: exchange classes one at a time, with or without ccxt's
``__init__`` files (the start-up path is tested on the real process in
tests/integration/executor/test_ccxt_imports.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fks_executor.ccxt_imports import exchange_class


@pytest.mark.parametrize("exchange", ["binance", "binanceusdm", "bybit"])
def test_the_real_ccxt_class(exchange: str) -> None:
    import ccxt.async_support

    assert exchange_class(exchange) is getattr(ccxt.async_support, exchange)


@pytest.mark.parametrize("exchange", ["nope", "base", "__init__", "Binance", "binance.base", ""])
def test_not_an_exchange(exchange: str) -> None:
    assert exchange_class(exchange) is None


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_lazy_packages_import_one_exchange_and_keep_the_shared_names() -> None:
    out = _run(
        "import sys\n"
        "from fks_executor.ccxt_imports import exchange_class, lazy_packages\n"
        "lazy_packages()\n"
        "cls = exchange_class('bybit')\n"
        "ex = cls({'apiKey': 'k', 'secret': 's'})\n"
        "import ccxt, ccxt.async_support as a, ccxt.base.errors as e\n"
        "assert a.NotSupported is e.NotSupported and ccxt.BaseError is e.BaseError\n"
        "assert isinstance(ex, a.Exchange) and a.TICK_SIZE == ccxt.TICK_SIZE\n"
        "try:\n"
        "    a.okx\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
        "print(sorted(m for m in sys.modules if m.startswith('ccxt.async_support.')"
        " and not m.startswith('ccxt.async_support.base')))\n"
    )
    missing, loaded = out.splitlines()
    assert "exchange_class" in missing
    assert loaded == "['ccxt.async_support.bybit']"


def test_lazy_packages_leave_an_imported_ccxt_alone() -> None:
    out = _run(
        "import ccxt.async_support as a\n"
        "from fks_executor.ccxt_imports import lazy_packages\n"
        "lazy_packages()\n"
        "import ccxt.async_support as b\n"
        "print(a is b, b.okx.__name__)\n"
    )
    assert out == "True okx"
