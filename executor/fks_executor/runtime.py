"""Wiring and lifecycle: the parts one executor process runs on, built from its config
(``build_runtime``, no I/O), started before the first request and stopped after the last.

Start: open the signal store, start the executor (load markets), then resume the signals a
process that is gone left unfinished (with Redis, also every ``lease / 3`` s: those of dead
replicas). Stop: wait up to ``SHUTDOWN_GRACE_SECONDS`` for executions still running (then
cancel them: they stay journaled and are resumed by the next executor), and close everything
(docs/executor.md, "Run" and "State backends").
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fks_executor.audit import AuditLog
from fks_executor.auth import Authenticator
from fks_executor.config import ConfigError, ExecutorConfig, ResolvedSecrets
from fks_executor.errors import ExecutorError
from fks_executor.execution import Execution, SignalExecutor
from fks_executor.intake import Intake
from fks_executor.metrics import Metrics
from fks_executor.ratelimit import RateLimiter
from fks_executor.state.journal import SqliteSignalStore, check_journal_path
from fks_executor.state.ledgers import FillsLedger, build_ledger
from fks_executor.state.store import DEFAULT_RETENTION_SECONDS, MemorySignalStore, SignalStore

if TYPE_CHECKING:
    from fks_executor.notify import Notifier

__all__ = ["SHUTDOWN_GRACE_SECONDS", "Runtime", "build_runtime"]

log = logging.getLogger("fks_executor")

#: How long shutdown waits for executions still running (uvicorn's graceful-shutdown period
#: for requests in flight is the same, and comes first).
SHUTDOWN_GRACE_SECONDS = 10


@dataclass
class Runtime:
    """Everything one executor process runs on."""

    config: ExecutorConfig
    metrics: Metrics
    audit: AuditLog
    store: SignalStore
    limiter: RateLimiter
    executor: SignalExecutor
    intake: Intake
    execution: Execution
    ledger: FillsLedger | None = None
    redis: Any = None
    """The ``redis.asyncio`` client of the Redis backend (its pool is closed last)."""
    recover_every: float | None = None
    """Redis: how often to look for signals of dead replicas to take over."""
    shutdown_grace: float = SHUTDOWN_GRACE_SECONDS
    notifier: Notifier | None = None
    """Posts notifications from the audit trail (docs/notifications.md); None without any."""
    _recoverer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.notifier is not None:
            await self.notifier.start()
        await self.store.open()
        await self.executor.start()
        # What is alive now (ccxt's tables, loaded markets: ~90,000 objects) lives as long as
        # the process: out of the collector's sight, a full collection walks only what requests
        # left behind (else it pauses every request in flight for 50-300 ms).
        gc.collect()
        gc.freeze()
        if self.config.suspend:
            with contextlib.suppress(ExecutorError):  # StateUnavailable: nothing to tell
                left = len(await self.store.unfinished())
                if left:
                    log.warning("suspended: %d unfinished signal(s) stay in the journal", left)
            return
        await self._recover()
        if self.recover_every:
            self._recoverer = asyncio.create_task(self._keep_recovering(), name="fks-recover")

    async def _recover(self) -> None:
        try:
            recovered = await self.execution.recover()
        except ExecutorError as exc:  # StateUnavailable: tried again later (Redis)
            log.warning("could not look for unfinished signals: %s", exc)
            return
        if recovered:
            log.warning("resuming %d unfinished signal(s) from the journal", recovered)

    async def _keep_recovering(self) -> None:
        assert self.recover_every is not None
        while True:
            await asyncio.sleep(self.recover_every)
            await self._recover()

    async def stop(self) -> None:
        if self._recoverer is not None:
            self._recoverer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recoverer
        left = await self.execution.drain(self.shutdown_grace)
        if left:
            log.warning(
                "shutting down: %d signal(s) still executing were stopped; they stay journaled "
                "and are resumed by the next executor",
                left,
            )
        steps: list[Callable[[], Awaitable[None]]] = [self.executor.close]
        if self.ledger is not None:
            steps.append(self.ledger.close)
        steps += [self.limiter.close, self.store.close]
        if self.redis is not None:
            steps.append(self.redis.connection_pool.aclose)
        for step in steps:
            try:
                await step()
            except Exception:  # one part failing to close must not keep the others open
                log.exception("error during shutdown")
        if self.notifier is not None:
            await self.notifier.close()
        self.audit.close()

    async def readiness(self) -> dict[str, bool]:
        checks = {"config": True, "journal": await self.store.ping()}
        checks.update(self.executor.ready())
        return checks


def build_runtime(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    """Construct (no I/O yet) the parts the config asks for; tests may pass their own
    executor or store. ccxt is imported here (by the exchange layer), not before."""
    metrics = Metrics(config.pipeline, [a.name for a in config.accounts])
    audit = AuditLog(config.audit.path, config.pipeline, metrics)
    notifier = None
    if config.notifications:  # (httpx is imported only then)
        from fks_executor.notify import Notifier

        notifier = Notifier(config, secrets, metrics.registry)
        audit.subscribe(notifier.on_audit)
    retention = max(DEFAULT_RETENTION_SECONDS, 2 * config.webhook.max_signal_age_seconds)
    rpm = config.rate_limit.requests_per_minute
    redis = None
    recover_every = None
    if config.state.backend == "redis":
        from fks_executor.state.redis_client import connect
        from fks_executor.state.redis_store import RedisSignalStore

        assert secrets.redis_url is not None
        redis = connect(secrets.redis_url.get_secret_value())
        lease = config.state.lease_seconds
        if store is None:  # (not `or`: an empty memory store is falsy)
            store = RedisSignalStore(redis, config.pipeline, retention=retention, lease=lease)
        limiter = RateLimiter.on_redis(rpm, config.pipeline, redis.connection_pool)
        recover_every = lease / 3
    else:
        journal = config.state.journal_path
        if store is None and journal:
            problem = check_journal_path(journal)
            if problem:
                raise ConfigError(f"state.journalPath: {problem}")
            store = SqliteSignalStore(journal, retention=retention)
        if store is None:
            store = MemorySignalStore(retention=retention)
        limiter = RateLimiter.in_memory(rpm, config.pipeline)
    ledger = None
    if executor is None:
        from fks_executor.exchange.wiring import build_trader

        ledger = build_ledger(
            pipeline=config.pipeline,
            daily_loss_limit_usd=config.risk.daily_loss_limit_usd,
            journal_path=config.state.journal_path,
            redis_client=redis,
            keeps_positions=config.execution.mode == "target-position",
        )
        executor = build_trader(config, secrets, metrics, audit, ledger=ledger)
    intake = Intake(
        config,
        authenticator=Authenticator(config.webhook.auth, secrets.webhook_secret.get_secret_value()),
        store=store,
        limiter=limiter,
        audit=audit,
        metrics=metrics,
        clock=clock,
    )
    execution = Execution(
        executor, store, audit, metrics, deadline=config.response_deadline_seconds, clock=clock
    )
    return Runtime(
        config,
        metrics,
        audit,
        store,
        limiter,
        executor,
        intake,
        execution,
        ledger=ledger,
        redis=redis,
        recover_every=recover_every,
        notifier=notifier,
    )
