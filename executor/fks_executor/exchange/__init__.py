"""The executor's exchange layer: the one seam around ``ccxt.async_support``.

- :mod:`.setup`      build one configured ccxt instance per account (sandbox, endpoint, options)
- :mod:`.live`       :class:`LiveExchange`: reads with retries, orders at most once per client id
- :mod:`.paper`      :class:`PaperExchange`: dry-run on public data, simulated fills
- :mod:`.errors`     ccxt errors -> ``fks_executor.errors`` (the one place)
- :mod:`.markets`    typed markets, symbol resolution, precision, minimums (pure)
- :mod:`.plan`       signal -> :class:`OrderPlan` (pure)
- :mod:`.client_ids` deterministic client order ids (pure)
- :mod:`.trader`     :class:`Trader`: the ``SignalExecutor`` wiring it all per pipeline

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
from fks_executor.exchange.plan import Capabilities, OrderLeg, OrderPlan, plan_close, plan_entry
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.setup import ExchangeSetupError, build_ccxt
from fks_executor.exchange.trader import Trader, build_trader

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
    "RetryPolicy",
    "Trader",
    "build_ccxt",
    "build_trader",
    "plan_close",
    "plan_entry",
]
