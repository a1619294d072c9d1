"""Signal -> orders for a whole pipeline: the ``SignalExecutor`` the intake calls.

``Trader.execute(signal)`` is the business flow, in this order::

    account (payload or default)      -> unknown_account
    symbol through the loaded markets -> symbol_not_allowed (unknown, not trading, or not in
                                         allowedSymbols; compared on resolved symbols)
    close:  reference price -> plan_close -> cancel this pipeline's open orders, sell the free
            base / reduce the position
    entry:  dailyLossLimitUSD -> risk_limit, spec.futures (futures.py) -> futures_settings_conflict
            price (payload, else ticker), free quote balance (paperBalanceUSD in dry-run),
            current position, ATR (payload, else ATR(14) of 1h candles) -> plan_entry (sizing,
            caps, precision, minimums, TP/SL legs) -> execute (until the execution deadline,
            ``execution.deadlineSeconds`` from now: see ``sender.py``)
    fills -> the ledger; metrics; audit ``order_sent`` / ``order_result`` per order
    failed (trading accounts) -> a lost trade: ``fks_lost_trades_total``, audit ``lost_trade``

It holds one :class:`~fks_executor.exchange.base.ExchangeClient` per account (built by
``wiring.build_trader``), and returns the ``Outcome`` (``executed`` or ``dry_run``) or raises
an ``ExecutorError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fks_executor.audit import AuditLog
from fks_executor.breaker import BreakerState, CircuitBreaker
from fks_executor.config import AccountConfig, ExecutorConfig
from fks_executor.domain import ALL_ACCOUNTS, Action, Outcome, Signal
from fks_executor.errors import (
    ExecutorError,
    Failed,
    InvalidPayload,
    LeaseLost,
    SymbolNotAllowed,
    UnknownAccount,
)
from fks_executor.exchange.base import ExchangeClient, ExecutionReport
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.exchange.exits import with_exits
from fks_executor.exchange.futures import FuturesBook, FuturesState
from fks_executor.exchange.legs import sync_legs, track_legs
from fks_executor.exchange.markets import MarketInfo
from fks_executor.exchange.plan import OrderLeg, OrderPlan, plan_close, plan_entry
from fks_executor.exchange.reporting import answer_detail, audit_plan, lost_trade
from fks_executor.exchange.syncing import PositionSync
from fks_executor.exchange.targeting import TARGET_POSITION, check_close_side, check_fields
from fks_executor.exchange.unprotected import ProtectionGuard
from fks_executor.fanout import fan_out
from fks_executor.metrics import Metrics
from fks_executor.risk import (
    FillsLedger,
    MemoryFillsLedger,
    check_daily_loss,
    check_symbol_allowed,
)
from fks_executor.sizing import SizingMethod, SizingRules, atr

__all__ = ["ATR_PERIOD", "ATR_TIMEFRAME", "Trader", "sizing_rules"]

log = logging.getLogger(__name__)

ATR_PERIOD = 14
ATR_TIMEFRAME = "1h"
_MARKETS_RETRY_SECONDS = 15.0
_START_WAIT_SECONDS = 5.0


def sizing_rules(config: ExecutorConfig) -> SizingRules:
    risk = config.risk
    return SizingRules(
        method=SizingMethod(risk.sizing.method),
        risk_per_trade=risk.sizing.risk_per_trade,
        percent=risk.sizing.percent,
        notional_usd=risk.sizing.notional_usd,
        atr_multiplier=risk.sizing.atr_multiplier,
        max_position_size_usd=risk.max_position_size_usd,
        max_order_size_usd=risk.max_order_size_usd,
    )


@dataclass
class _Account:
    config: AccountConfig
    client: ExchangeClient
    breaker: CircuitBreaker
    allowed: frozenset[str] | None = None  # resolved allowedSymbols (None: not resolved yet)


class Trader:
    """One per executor process; implements ``fks_executor.execution.SignalExecutor``."""

    def __init__(
        self,
        config: ExecutorConfig,
        accounts: Mapping[str, tuple[AccountConfig, ExchangeClient]],
        *,
        metrics: Metrics | None = None,
        audit: AuditLog | None = None,
        ledger: FillsLedger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.rules = sizing_rules(config)
        self.metrics = metrics
        self.audit = audit
        self.ledger: FillsLedger = ledger or MemoryFillsLedger()
        self._clock = clock
        self._accounts = {
            name: _Account(account, client, client.venue.breaker)
            for name, (account, client) in accounts.items()
        }
        self._loader: asyncio.Task[None] | None = None
        self._loss_limit_on = config.risk.daily_loss_limit_usd > 0
        target = config.execution.mode == TARGET_POSITION  # syncing.py (spot: the ledger)
        self.futures = FuturesBook((a for a, _ in accounts.values()), metrics=metrics, audit=audit)
        self._sync = (
            PositionSync(config.pipeline, self.ledger, clock, self.futures) if target else None
        )
        self._records = self._loss_limit_on or self._sync is not None
        self._executions: dict[tuple[str, str, str], Any] = {}  # metric children, cached
        self.guard = ProtectionGuard(config, metrics=metrics, audit=audit)

    # ------------------------------------------------------------------ lifecycle

    def client(self, account: str) -> ExchangeClient:
        return self._accounts[account].client

    async def start(self) -> None:
        """Load every account's markets, waiting at most a few seconds (the port opens and
        ``/health`` answers even when an exchange is unreachable); what is not loaded by
        then keeps loading in the background, retried every 15 s (``/ready`` tells)."""
        self._loader = asyncio.create_task(self._keep_loading(), name="fks-markets-loader")
        await asyncio.wait({self._loader}, timeout=_START_WAIT_SECONDS)

    async def _load_markets(self) -> list[str]:
        missing: list[str] = []
        for name, acct in self._accounts.items():
            if acct.client.ready:
                continue
            try:
                await acct.client.start()
            except ExecutorError as exc:
                log.warning("markets of account %s not loaded: %s", name, exc.detail)
                missing.append(name)
                continue
            acct.allowed = self._resolve_allowed(acct)
        return missing

    async def _keep_loading(self) -> None:
        while True:
            if not await self._load_markets():
                return
            await asyncio.sleep(_MARKETS_RETRY_SECONDS)

    def _resolve_allowed(self, acct: _Account) -> frozenset[str]:
        resolved: set[str] = set()
        for raw in self.config.risk.allowed_symbols:
            try:
                resolved.add(acct.client.resolve_symbol(raw))
            except SymbolNotAllowed as exc:
                log.warning(
                    "risk.allowedSymbols: %s is not a market of account %s (%s); it allows nothing",
                    raw,
                    acct.config.name,
                    exc.detail,
                )
        return frozenset(resolved)

    async def close(self) -> None:
        if self._loader is not None:
            self._loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loader
        for acct in self._accounts.values():
            await acct.client.close()

    def markets_loaded(self) -> dict[str, bool]:
        """Whether each account's markets are loaded (dry-run accounts too; informational)."""
        return {name: acct.client.ready for name, acct in self._accounts.items()}

    def ready(self) -> dict[str, bool]:
        """``markets:<account>`` for every account that trades (dry-run accounts excluded)."""
        return {
            f"markets:{name}": acct.client.ready
            for name, acct in self._accounts.items()
            if not acct.client.dry_run
        }

    def breaker_states(self) -> dict[str, BreakerState]:
        return {name: acct.breaker.state() for name, acct in self._accounts.items()}

    # ------------------------------------------------------------------ execution

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        """Place (or simulate) the orders of one signal.

        ``resume=True`` for a signal that may already have been executed in part (a journaled
        signal found unfinished after a restart, or after an ``OrderOutcomeUnknown``): every
        order is looked up by client order id before it is sent; ``attempted_at`` is when the
        earlier attempt started. ``signal.account`` ``*``: every account (docs/executor.md#fan-out).
        """
        if signal.account == ALL_ACCOUNTS:
            accounts = tuple(self._accounts)
            return await fan_out(self, accounts, signal, resume=resume, attempted_at=attempted_at)
        name = signal.account or self.config.default_account.name
        acct = self._accounts.get(name)
        if acct is None:
            raise UnknownAccount(f"account {name!r} is not one of this pipeline's accounts")
        client = acct.client
        check_fields(signal, self.config.execution.mode)
        started = time.perf_counter()
        deadline = self._clock() + self.config.execution.deadline_seconds
        synced = None
        try:
            if self._sync is not None:
                synced = await self._sync.run(
                    client, acct.config, signal, await self._market(acct, signal),
                    plan=lambda s: self._plan(acct, s),
                    sent=lambda p: audit_plan(self.audit, signal, p, resume=resume),
                    resume=resume, attempted_at=attempted_at, deadline=deadline,
                )  # fmt: skip
                if synced.report is None:
                    return synced.outcome(signal.signal_id, dry_run=client.dry_run)
                report = synced.report
            else:
                plan = await self._plan(acct, signal, resume=resume)
                audit_plan(self.audit, signal, plan, resume=resume)
                report = await client.execute(
                    plan, resume=resume, attempted_at=attempted_at, deadline=deadline
                )
        except ExecutorError as exc:
            if self.metrics is not None:
                self.metrics.order_failures.labels(name, client.venue.exchange_id, exc.reason).inc()
            if isinstance(exc, Failed) and not isinstance(exc, LeaseLost) and not client.dry_run:
                unknown = exc.order_may_exist or resume
                lost_trade(self.metrics, self.audit, signal, client, exc, unknown=unknown)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.order_duration.observe(time.perf_counter() - started)
        report = await self.guard.review(
            signal, report, client, resume=resume, attempted_at=attempted_at, deadline=deadline
        )
        if self._records:
            for fill in report.fills:
                await self.ledger.record(fill)
            if not client.dry_run:
                await track_legs(self.ledger, acct.config.name, report)
        status = "dry_run" if client.dry_run else "executed"
        self._account_for(signal, report, status)
        return Outcome(
            status=status,
            signal_id=signal.signal_id,
            http_status=200,
            order=report.entry.as_dict(),
            orders=report.orders(),
            detail=answer_detail(report, synced.detail if synced else None),
        )

    async def _market(self, acct: _Account, signal: Signal) -> MarketInfo:
        client = acct.client
        if not client.ready:
            await client.start()  # dry-run accounts load lazily; live ones retry here too
        symbol = client.resolve_symbol(signal.symbol)
        if acct.allowed is None:
            acct.allowed = self._resolve_allowed(acct)
        if self.config.risk.allowed_symbols:
            check_symbol_allowed(symbol, acct.allowed)
        return client.market(symbol)

    async def _plan(self, acct: _Account, signal: Signal, *, resume: bool = False) -> OrderPlan:
        client = acct.client
        market = await self._market(acct, signal)
        symbol, pipeline, name = market.symbol, self.config.pipeline, acct.config.name
        if signal.action is Action.CLOSE:
            close_ref = await client.fetch_price(symbol) if signal.price is None else signal.price
            hedged = await self.futures.hedged(name, client, market)
            if not hedged and signal.position is not None:  # one-way: the side must match
                check_close_side(signal.position, await client.fetch_position(symbol), symbol)
            return plan_close(
                signal,
                pipeline=pipeline,
                account=name,
                market=market,
                reference_price=close_ref,
                hedged=hedged,
            )
        placed = await self._placed_entry(acct, signal, symbol) if resume else None
        if placed is not None:
            # The entry went out in an earlier attempt: plan around the order that exists
            # (sizing, caps and the daily loss limit judged it then; re-judging them against
            # the position it created would refuse the signal it belongs to). The legs still
            # follow from the alert, and nothing is sent twice (execute looks every order up).
            signal = dataclasses.replace(signal, amount=placed, size_usd=None)
        elif self._loss_limit_on:
            await sync_legs(self.ledger, client, acct.config.name, self._clock())
            check_daily_loss(
                await self.ledger.fills(),
                limit_usd=self.config.risk.daily_loss_limit_usd,
                now=self._clock(),
            )
        if placed is None:
            futures = await self.futures.prepare(name, client, market, signal.signal_id)
        else:  # settings are never re-judged under the entry's own position (resume)
            futures = FuturesState(None, await self.futures.hedged(name, client, market))
        explicit = signal.amount is not None or signal.size_usd is not None
        ref: float | None = None if signal.price is not None else await client.fetch_price(symbol)
        if placed is not None:
            balance, position = 0.0, 0.0
        else:
            need = not explicit or futures.leverage is not None  # sizing, the margin check
            balance, position = await client.fetch_account_state(symbol, balance=need)
            if futures.hedged:  # maxPositionSizeUSD: the side the entry adds to, not the net
                side = "long" if signal.action is Action.BUY else "short"
                held = await client.fetch_side_position(symbol, side)
                position = held if side == "long" else -held
        atr_value = signal.atr
        if atr_value is None and not explicit and self.rules.method is SizingMethod.VOLATILITY:
            candles = await client.fetch_candles(symbol, ATR_TIMEFRAME, ATR_PERIOD * 3)
            try:
                atr_value = atr(candles, ATR_PERIOD)
            except ValueError as exc:
                raise InvalidPayload(
                    f"atr: not in the payload and not computable from {symbol} candles ({exc})"
                ) from None
        plan = plan_entry(
            signal,
            pipeline=pipeline,
            account=acct.config.name,
            exchange=client.venue.exchange_id,
            market=market,
            caps=client.venue.capabilities,
            rules=self.rules,
            reference_price=ref,
            balance_usd=balance,
            position_base=position,
            atr_value=atr_value,
            futures=futures,
        )
        return with_exits(plan, signal, market, client.venue, hedged=futures.hedged)

    async def _placed_entry(self, acct: _Account, signal: Signal, symbol: str) -> float | None:
        """The base amount of this signal's entry order if it exists on the exchange."""
        client = acct.client
        if client.dry_run:
            return None
        cid = client_order_id(self.config.pipeline, acct.config.name, signal.signal_id, Leg.ENTRY)
        probe = OrderLeg(Leg.ENTRY, cid, signal.action.value, signal.order_type.value, None)
        found = await client.find_order(symbol, probe)
        if found is None or found.amount <= 0:
            return None
        market = client.market(symbol)
        return found.amount * (market.contract_size if market.contract else 1.0)

    def _account_for(self, signal: Signal, report: ExecutionReport, status: str) -> None:
        plan = report.plan
        if self.metrics is not None:
            key = (plan.account, report.entry.exchange, status)
            counter = self._executions.get(key)
            if counter is None:
                counter = self.metrics.order_executions.labels(*key)
                self._executions[key] = counter
            counter.inc()
        if self.audit is None:
            return
        for order in report.all_orders():
            self.audit.record(
                "order_result",
                signal_id=signal.signal_id,
                account=plan.account,
                symbol=order.symbol,
                order_id=order.id,
                reason=order.status,
                detail=f"{order.type} {order.side} {order.amount:g} {order.client_order_id}"
                + (" (found by client order id, not re-sent)" if report.recovered else ""),
            )
