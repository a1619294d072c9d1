"""Import ccxt's exchange classes one at a time, without ccxt's package ``__init__`` files.

``import ccxt``, and every ``import ccxt.<anything>`` (which runs the package ``__init__``
first), imports all of ccxt's ~100 exchanges, once sync and once async: ~50 MiB of resident
memory and ~0.4 s per process, spent on classes an executor never uses.

``lazy_packages()``, called once by ``fks-executor`` at start-up before anything imports ccxt,
registers ``ccxt``, ``ccxt.async_support`` and ``ccxt.pro`` as ccxt's real packages (ccxt's own
import spec and ``__path__``, so every submodule is ccxt's own file, unchanged) whose
``__init__`` has not run. On them it binds what those ``__init__`` files bind, except the
exchange classes: ``__version__``, ``Exchange``, ``Precise``, the error classes and the
``decimal_to_precision`` helpers, each taken from the ccxt module the ``__init__`` takes it
from. ccxt's own modules need some of them (``from ccxt import BaseError`` in its websocket
base, which the async ``Exchange`` imports), the executor's exchange layer uses the errors.
``exchange_class(id)`` then imports ``ccxt.async_support.<id>`` and what it imports itself
(``binanceusdm`` is a ``binance`` subclass), nothing else. Everything that runs is ccxt's code:
only the two ``__init__`` files' lists of exchange imports are skipped.

A name the lazy packages do not bind, such as an exchange class reached as an attribute
(``ccxt.async_support.bybit``) or ``ccxt.exchanges``, raises an ``AttributeError`` that says
why: code that needs an exchange class calls ``exchange_class``. Where ``lazy_packages()`` has
not run (tests, ``fks-executor send``), ccxt is imported whole on first use, as usual, and
``exchange_class`` answers the same. ``tests/integration/executor/test_ccxt_imports.py`` starts
the executor with ``python -X importtime`` and fails when any other exchange module, or a
ccxt package ``__init__``, is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from types import ModuleType
from typing import Any

__all__ = ["exchange_class", "lazy_packages"]

#: A ccxt exchange id names a module of ``ccxt.async_support``; the leading letter keeps
#: ``__init__`` (which would import every exchange) out. ``base`` passes, and is refused
#: because its module has no ``base`` class.
_EXCHANGE_ID = re.compile(r"[a-z][a-z0-9_]*")
_DECIMAL_TO_PRECISION = (
    "decimal_to_precision",
    "TRUNCATE",
    "ROUND",
    "TICK_SIZE",
    "DECIMAL_PLACES",
    "SIGNIFICANT_DIGITS",
    "NO_PADDING",
    "PAD_WITH_ZERO",
)


def _unloaded_package(name: str) -> ModuleType:
    """The package ``name`` as the import system would create it, before its ``__init__``."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package", name=name)
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)

    def __getattr__(attribute: str) -> Any:  # PEP 562: called for names the module lacks
        raise AttributeError(
            f"module {name!r} has no attribute {attribute!r}: fks-executor imports ccxt's "
            "exchange classes one at a time (fks_executor.ccxt_imports.exchange_class)"
        )

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    return package


def _bind_common(package: ModuleType, exchange_module: str) -> None:
    """What both ccxt ``__init__`` files bind before their exchange imports."""
    errors = importlib.import_module("ccxt.base.errors")
    d2p = importlib.import_module("ccxt.base.decimal_to_precision")
    base = importlib.import_module(exchange_module)
    names: dict[str, Any] = {name: getattr(errors, name) for name in errors.__all__}
    names.update({name: getattr(d2p, name) for name in _DECIMAL_TO_PRECISION})
    names.update(errors=errors, Exchange=base.Exchange, __version__=base.__version__)
    vars(package).update(names)


def lazy_packages() -> None:
    """Make ``ccxt`` and ``ccxt.async_support`` importable without their ``__init__`` files.

    A no-op once ccxt is imported (whole, or lazily by an earlier call): it never replaces a
    ccxt other modules may already hold."""
    if "ccxt" in sys.modules:
        return
    ccxt = _unloaded_package("ccxt")
    _bind_common(ccxt, "ccxt.base.exchange")
    vars(ccxt)["Precise"] = importlib.import_module("ccxt.base.precise").Precise
    _bind_common(_unloaded_package("ccxt.async_support"), "ccxt.async_support.base.exchange")
    # ccxt.pro's __init__ binds the same names as async_support's (its Exchange is the async one)
    _bind_common(_unloaded_package("ccxt.pro"), "ccxt.async_support.base.exchange")


def exchange_class(exchange_id: str, *, pro: bool = False) -> type[Any] | None:
    """ccxt's async class for ``exchange_id`` (importing its module and what that module
    imports, nothing more), or None when ccxt has no such exchange. ``pro``: the ccxt.pro
    class (the async class plus websockets), or None when ccxt.pro has none."""
    if not _EXCHANGE_ID.fullmatch(exchange_id):
        return None
    if pro:
        # ccxt.pro.<id> subclasses ``ccxt.async_support.<id>``, reached as an attribute of the
        # package: bound here (as ccxt's __init__ would), for this one exchange.
        base_class = exchange_class(exchange_id)
        if base_class is None:
            return None
        setattr(sys.modules["ccxt.async_support"], exchange_id, base_class)
    name = f"ccxt.{'pro' if pro else 'async_support'}.{exchange_id}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
    base = importlib.import_module("ccxt.async_support.base.exchange").Exchange
    found = getattr(module, exchange_id, None)
    return found if isinstance(found, type) and issubclass(found, base) else None
