"""The executor's exchange layer: the one seam around ``ccxt.async_support``.

- :mod:`.base`       :class:`ExchangeClient`: the seam the trader is typed against
- :mod:`.quirks`     per-venue facts ccxt does not expose (a table) and :class:`Capabilities`
- :mod:`.setup`      build one configured ccxt instance per account (sandbox, endpoint, options)
- :mod:`.venue`      one account's ccxt instance: breaker -> retries -> error translation
- :mod:`.market_data` markets of the account's type, tickers, candles
- :mod:`.sender`     :class:`OrderSender`: the order protocol (at most once, resent only when
                     proven absent, until the execution deadline; confirmed fills)
- :mod:`.live`       :class:`LiveExchange`: venue + market data + sender; the order flow
- :mod:`.paper`      :class:`PaperExchange`: venue + market data; simulated fills
- :mod:`.errors`     ccxt errors -> ``fks_executor.errors`` (the one place)
- :mod:`.markets`    typed markets, symbol resolution, precision, minimums (pure)
- :mod:`.plan`       signal -> :class:`OrderPlan` (pure)
- :mod:`.client_ids` deterministic client order ids (pure)
- :mod:`.legs`       resting stop-loss/take-profit legs tracked in the fills ledger
- :mod:`.trader`     :class:`Trader`: the ``SignalExecutor``: signal -> plan -> client
- :mod:`.wiring`     :func:`build_trader`: one client and breaker per account

See docs/trading.md for the behaviour users see.
"""

from fks_executor.exchange.base import (
    AccountSpec,
    Credentials,
    ExchangeClient,
    ExecutionReport,
    LegFailure,
)
from fks_executor.exchange.errors import ExchangeAuthenticationFailed, OrderOutcomeUnknown
from fks_executor.exchange.live import LiveExchange
from fks_executor.exchange.paper import PaperExchange
from fks_executor.exchange.plan import OrderLeg, OrderPlan, plan_close, plan_entry
from fks_executor.exchange.quirks import Capabilities, Quirks, quirks_for
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.setup import ExchangeSetupError, build_ccxt
from fks_executor.exchange.trader import Trader
from fks_executor.exchange.wiring import build_trader

__all__ = [
    "AccountSpec",
    "Capabilities",
    "Credentials",
    "ExchangeAuthenticationFailed",
    "ExchangeClient",
    "ExchangeSetupError",
    "ExecutionReport",
    "LegFailure",
    "LiveExchange",
    "OrderLeg",
    "OrderOutcomeUnknown",
    "OrderPlan",
    "PaperExchange",
    "Quirks",
    "RetryPolicy",
    "Trader",
    "build_ccxt",
    "build_trader",
    "plan_close",
    "plan_entry",
    "quirks_for",
]
