"""Wiring: one exchange client and circuit breaker per account of the config, and the trader.

Dry-run pipelines get a :class:`~.paper.PaperExchange` per account (built without credentials),
trading ones a :class:`~.live.LiveExchange` (refused without credentials). Both are
:class:`~.base.ExchangeClient` s; the trader sees nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from fks_executor.audit import AuditLog
from fks_executor.breaker import BreakerState, CircuitBreaker
from fks_executor.config import AccountConfig, ConfigError, ExecutorConfig, ResolvedSecrets
from fks_executor.exchange.base import Credentials, ExchangeClient
from fks_executor.exchange.live import LiveExchange
from fks_executor.exchange.paper import PaperExchange
from fks_executor.exchange.retry import RetryPolicy
from fks_executor.exchange.setup import ExchangeSetupError, build_ccxt
from fks_executor.exchange.streams import StreamSettings
from fks_executor.exchange.trader import Trader
from fks_executor.metrics import Metrics
from fks_executor.risk import FillsLedger

__all__ = ["build_trader"]


def _audit_breaker(audit: AuditLog) -> Callable[[str, BreakerState], None]:
    """Each breaker transition as an audit line ``circuit_breaker`` (reason open, half_open,
    closed): what the notifier's circuit_open event comes from."""

    def record(account: str, state: BreakerState) -> None:
        audit.record("circuit_breaker", account=account, reason=state.name.lower())

    return record


def build_trader(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    metrics: Metrics | None = None,
    audit: AuditLog | None = None,
    *,
    ledger: FillsLedger | None = None,
    retry: RetryPolicy | None = None,
) -> Trader:
    """One client + breaker per account from the config (``ConfigError`` for a bad account)."""
    accounts: dict[str, tuple[AccountConfig, ExchangeClient]] = {}
    cb = config.circuit_breaker
    for i, account in enumerate(config.accounts):
        creds = secrets.accounts.get(account.name)
        breaker = CircuitBreaker(
            account.name,
            failure_threshold=cb.failure_threshold,
            reset_timeout=cb.reset_timeout_seconds,
            on_change=_audit_breaker(audit) if audit is not None else None,
        )
        if metrics is not None:
            # Read at every scrape: an open breaker shows half-open the moment its reset
            # timeout has passed, not only at the next call.
            metrics.circuit_breaker_state.labels(account=account.name).set_function(breaker.gauge)
        try:
            client: ExchangeClient
            if config.dry_run:
                client = PaperExchange(
                    build_ccxt(account, None),
                    account=account.name,
                    market_type=account.market_type,
                    paper_balance_usd=config.risk.paper_balance_usd,
                    breaker=breaker,
                    retry=retry,
                )
            else:
                if creds is None or not creds.present:
                    raise ConfigError(
                        f"accounts[{i}]: account {account.name} has no credentials "
                        "(apiKeyEnv/secretEnv) and can only dry-run; set dryRun: true"
                    )
                assert creds.api_key is not None
                assert creds.secret is not None
                credentials = Credentials(
                    api_key=creds.api_key.get_secret_value(),
                    secret=creds.secret.get_secret_value(),
                    password=creds.password.get_secret_value() if creds.password else None,
                )
                execution = config.execution
                warm = StreamSettings(max_age=execution.warm_state_max_age_seconds)
                ws_orders = execution.order_entry == "websocket"
                client = LiveExchange(
                    build_ccxt(account, credentials, websockets=warm.max_age > 0 or ws_orders),
                    account=account.name,
                    market_type=account.market_type,
                    breaker=breaker,
                    retry=retry,
                    secrets=credentials.values(),
                    streams=warm,
                    ws_orders=ws_orders,
                )
        except ExchangeSetupError as exc:
            raise ConfigError(str(exc)) from None
        accounts[account.name] = (account, client)
    return Trader(config, accounts, metrics=metrics, audit=audit, ledger=ledger)
