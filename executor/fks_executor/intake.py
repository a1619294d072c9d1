"""Intake: everything from an HTTP request to the decision to execute, in SPEC §3's order.

1. source allowlist (403 ``ip_not_allowed``)      6. schema (422 ``invalid_payload``), account
2. rate limit per source (429 ``rate_limited``)       (422 ``unknown_account``)
3. body, at most 64 KiB (413 ``body_too_large``)  7. kill switch (503 ``suspended``)
4. HMAC signature, when sent                      8. timestamp (422 ``stale``)
5. JSON (400 ``invalid_json``), passphrase        9. confidence (200 ``ignored``)
   (401 ``invalid_signature``)                    10. claim (200 ``duplicate``; a retryable
                                                      503 is retried), then execute

Every refusal is an ``ExecutorError``; ``handle_webhook`` turns it into its answer in one place,
counts it and audits it. Anything else that escapes is a bug: answered ``500 internal_error``,
the traceback goes to the log, never to the caller.

Execution runs in the request's own task (no task of its own to start, schedule and wait
for: on the dry-run path that handover cost about a tenth of the request). It is answered with
its outcome when it finishes within ``responseDeadlineSeconds``; else, at the deadline,
``202 accepted`` is sent through ``IntakeRequest.answer_early`` while it finishes (its outcome
is recorded in the store and audited either way). The claim journaled the signal as
``executing`` before it starts. Only a stopping server cancels a request (uvicorn, once its
graceful-shutdown period is over): the signal then stays journaled as ``executing`` and the next
process resumes it. Signals resumed from the journal (``recover``) run as tracked tasks, which
``drain`` waits for and then cancels the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fks_executor.audit import AuditLog
from fks_executor.auth import Authenticator
from fks_executor.config import ExecutorConfig
from fks_executor.domain import Outcome, Signal
from fks_executor.errors import (
    BodyTooLarge,
    ExecutorError,
    InternalError,
    InvalidJson,
    InvalidPayload,
    InvalidSignature,
    LeaseLost,
    RateLimited,
    SourceNotAllowed,
    Stale,
    Suspended,
    UnknownAccount,
)
from fks_executor.execution import SignalExecutor
from fks_executor.fence import install_fence, remove_fence
from fks_executor.metrics import Metrics
from fks_executor.ratelimit import RateLimiter
from fks_executor.signals import build_signal, check_freshness, decode_body, take_passphrase
from fks_executor.sources import SourcePolicy
from fks_executor.store import SignalRecord, SignalState, SignalStore, is_retryable
from fks_executor.values import value

__all__ = ["MAX_BODY_BYTES", "Intake", "IntakeRequest"]

log = logging.getLogger("fks_executor.intake")

MAX_BODY_BYTES = 64 * 1024
_VALIDATION = (InvalidJson, InvalidPayload, BodyTooLarge, Stale)


class _StoppedWhileRecording(asyncio.CancelledError):
    """A cancellation that arrived while the outcome (``args[0]``: its status) was being
    recorded: the store finishes that write; the signal is not left to be resumed."""


@value
class IntakeRequest:
    """What intake needs from an HTTP request. ``headers`` has lower-case names;
    ``read_body(limit)`` returns the raw body or raises ``BodyTooLarge`` past ``limit``;
    ``answer_early(outcome)`` sends ``outcome`` as the answer now, while intake goes on (the
    202 at the response deadline): what ``handle_webhook`` returns after that is not sent."""

    peer: str | None
    headers: Mapping[str, str]
    read_body: Callable[[int], Awaitable[bytes]]
    answer_early: Callable[[Outcome], None]


@value
class _Attempt:
    resume: bool = False
    attempted_at: float | None = None


@dataclass(slots=True)
class _Context:
    source: str | None = None
    signal_id: str | None = None
    account: str | None = None
    symbol: str | None = None
    audited: bool = False
    answered: bool = False  # answered early: counted then, nothing more to send
    started: float = 0.0  # perf_counter() at arrival


class Intake:
    def __init__(
        self,
        config: ExecutorConfig,
        *,
        authenticator: Authenticator,
        store: SignalStore,
        limiter: RateLimiter,
        executor: SignalExecutor,
        audit: AuditLog,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.auth = authenticator
        self.store = store
        self.limiter = limiter
        self.executor = executor
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.sources = SourcePolicy(config.webhook.allowed_sources, config.webhook.trusted_proxies)
        self._tasks: set[asyncio.Task[Outcome]] = set()  # resumed signals' executions
        self._requests: set[asyncio.Task[Any]] = set()  # requests executing their signal
        self._running: set[str] = set()  # signal ids executing in this process
        metrics.signals_inflight.set_function(lambda: len(self._running))
        self._default_account = config.default_account.name
        self._accounts = {a.name for a in config.accounts}

    # --- the webhook ------------------------------------------------------------------------

    async def handle_webhook(self, request: IntakeRequest) -> Outcome:
        ctx = _Context(started=time.perf_counter())
        try:
            outcome = await self._intake(request, ctx)
        except ExecutorError as exc:
            outcome = Outcome.from_error(exc, ctx.signal_id)
            if isinstance(exc, InvalidSignature):
                self.metrics.signature_failures.inc()
            elif isinstance(exc, _VALIDATION):
                self.metrics.validation_failures.labels(exc.reason).inc()
        except Exception:
            log.exception("internal error while taking in a webhook (signal %s)", ctx.signal_id)
            outcome = Outcome.from_error(InternalError(), ctx.signal_id)
        if not ctx.audited:
            self.audit.record(
                outcome.status,
                signal_id=ctx.signal_id,
                account=ctx.account,
                symbol=ctx.symbol,
                reason=outcome.reason,
                source=ctx.source,
                http_status=outcome.http_status,
                detail=outcome.detail,
            )
        if not ctx.answered:
            self._count_answer(outcome, ctx)
        return outcome

    def _count_answer(self, outcome: Outcome, ctx: _Context) -> None:
        self.metrics.count_request(outcome.status, outcome.reason)
        self.metrics.webhook_duration.observe(time.perf_counter() - ctx.started)

    async def _intake(self, request: IntakeRequest, ctx: _Context) -> Outcome:
        config = self.config
        client = self.sources.client(request.peer, request.headers.get("x-forwarded-for"))
        ctx.source = client
        if not self.sources.allows(client):
            raise SourceNotAllowed("the source address is not in webhook.allowedSources")
        if not await self.limiter.allow(client):
            self.metrics.rate_limit_rejections.inc()
            raise RateLimited(
                f"more than {config.rate_limit.requests_per_minute} requests per minute "
                "from this source"
            )

        raw = await request.read_body(MAX_BODY_BYTES)
        signed = self.auth.check_signature_first(raw, request.headers)
        obj = decode_body(raw)
        passphrase = take_passphrase(obj) if isinstance(obj, dict) else None
        if not signed:
            self.auth.check_token(passphrase)
        del passphrase
        if not isinstance(obj, dict):
            raise InvalidPayload("body: must be a JSON object")

        signal = build_signal(obj, raw, default_account=self._default_account)
        ctx.signal_id, ctx.symbol = signal.signal_id, signal.symbol
        if signal.account not in self._accounts:  # (not recorded: it could be anything)
            raise UnknownAccount("account: not one of this pipeline's accounts")
        account = ctx.account = signal.account

        if config.suspend:
            raise Suspended("pipeline is suspended (kill switch): no orders are placed")
        check_freshness(signal.timestamp, self.clock(), config.webhook.max_signal_age_seconds)
        if signal.confidence < config.webhook.min_confidence:
            return Outcome(
                status="ignored",
                reason="low_confidence",
                signal_id=signal.signal_id,
                detail=f"confidence is below minConfidence {config.webhook.min_confidence:g}",
            )

        claim = await self.store.claim(signal)
        record = claim.record
        if not claim.won:
            ctx.audited = True
            outcome = self._duplicate(record)
            self.audit.record(
                "duplicate",
                signal_id=signal.signal_id,
                account=account,
                symbol=signal.symbol,
                reason=record.outcome.status if record.outcome else record.state.value,
                order_id=_order_id(outcome),
                source=client,
                http_status=200,
            )
            return outcome

        ctx.audited = True
        # A retry executes the signal as first recorded (its client order ids derive from it),
        # looking its orders up first when an earlier attempt left one unsettled.
        retry = record.attempts > 1
        unsettled = record.unsettled_since
        attempt = _Attempt(resume=unsettled is not None, attempted_at=unsettled)
        self.audit.record(
            "accepted",
            signal_id=signal.signal_id,
            account=account,
            symbol=signal.symbol,
            source=client,
            attempt=record.attempts if retry else None,
        )
        return await self._execute_within_deadline(record.signal, attempt, request, ctx)

    @staticmethod
    def _duplicate(record: SignalRecord) -> Outcome:
        first = record.outcome
        if first is None:  # still executing (here or at another replica)
            first = Outcome(
                status="accepted",
                signal_id=record.signal_id,
                http_status=202,
                detail=f"first delivery is {record.state.value}",
            )
        return Outcome(
            status="duplicate",
            signal_id=record.signal_id,
            http_status=200,
            order=first.order,
            orders=first.orders,
            first=first.body(),
        )

    # --- execution --------------------------------------------------------------------------

    async def _execute_within_deadline(
        self, signal: Signal, attempt: _Attempt, request: IntakeRequest, ctx: _Context
    ) -> Outcome:
        """Execute in this request's task; answer ``202 accepted`` at the deadline and go on."""
        signal_id = signal.signal_id
        accepted = Outcome(
            status="accepted",
            signal_id=signal_id,
            http_status=202,
            detail="still executing; GET /signals/{id} tells the outcome",
        )

        def answer_accepted() -> None:
            if not ctx.answered:
                ctx.answered = True
                self._count_answer(accepted, ctx)
                request.answer_early(accepted)

        loop = asyncio.get_running_loop()
        deadline = loop.call_later(self.config.response_deadline_seconds, answer_accepted)
        task = asyncio.current_task()
        if task is not None:
            self._requests.add(task)
        self._running.add(signal_id)
        try:
            return await self._execute(signal, attempt)
        except asyncio.CancelledError as exc:
            # The server is stopping and its grace period is over (nothing else cancels a
            # request): the execution is stopped where it was.
            if isinstance(exc, _StoppedWhileRecording):
                log.warning(
                    "shutting down: signal %s was stopped while its outcome (%s) was being "
                    "recorded; the record is finished before the journal closes",
                    signal_id,
                    exc.args[0],
                )
            else:
                log.warning(
                    "shutting down: signal %s still executing was stopped; it stays journaled "
                    "and is resumed by the next executor",
                    signal_id,
                )
            answer_accepted()
            return accepted
        finally:
            deadline.cancel()
            self._running.discard(signal_id)
            if task is not None:
                self._requests.discard(task)

    def _start(self, signal: Signal, attempt: _Attempt) -> asyncio.Task[Outcome]:
        """Run one claimed signal as a tracked task (awaited or cancelled at shutdown)."""
        self._running.add(signal.signal_id)
        task = asyncio.create_task(self._execute(signal, attempt))
        self._tasks.add(task)

        def done(t: asyncio.Task[Outcome]) -> None:
            self._tasks.discard(t)
            self._running.discard(signal.signal_id)

        task.add_done_callback(done)
        return task

    async def _execute(self, signal: Signal, attempt: _Attempt) -> Outcome:
        """Run one claimed (journaled) signal to its recorded outcome. Never raises, except
        when cancelled at shutdown: the record then stays ``executing`` in the store, and the
        next process to take it over resumes it (looking its orders up first)."""
        signal_id = signal.signal_id
        fence = install_fence(self.store.fence)  # for this execution only
        try:
            try:
                outcome = await self.executor.execute(
                    signal, resume=attempt.resume, attempted_at=attempt.attempted_at
                )
            except ExecutorError as exc:
                outcome = Outcome.from_error(exc, signal_id)
            except Exception:
                log.exception("internal error while executing signal %s", signal_id)
                outcome = Outcome.from_error(InternalError(), signal_id)
            if attempt.resume and is_retryable(outcome) and not outcome.unsettled:
                # This attempt was to settle an earlier one's possible order and failed before
                # it could: the question stays open for the next attempt.
                outcome = dataclasses.replace(outcome, unsettled=True)
            try:
                await self.store.complete(signal_id, outcome)
            except asyncio.CancelledError:
                # Stopped while recording: the store finishes the write regardless, and the
                # audit trail records the outcome too.
                self._audit_outcome(signal, outcome)
                raise _StoppedWhileRecording(outcome.status) from None
            except LeaseLost as exc:
                log.warning("outcome of signal %s not recorded: %s", signal_id, exc.detail)
            except Exception:
                # The record stays "executing": the next take-over resumes it from the exchange.
                log.error("could not record the outcome of signal %s", signal_id)
            self._audit_outcome(signal, outcome)
            return outcome
        finally:
            remove_fence(fence)

    def _audit_outcome(self, signal: Signal, outcome: Outcome) -> None:
        self.audit.record(
            outcome.status,
            signal_id=signal.signal_id,
            account=signal.account,
            symbol=signal.symbol,
            reason=outcome.reason,
            order_id=_order_id(outcome),
            http_status=outcome.http_status,
            detail=outcome.detail,
        )

    async def recover(self) -> int:
        """Resume the unfinished signals the store hands over (at start-up; with Redis also
        periodically: those of dead replicas). Each is resumed: its orders are looked up by
        client order id before anything is sent, and an order request of the process that
        left it is awaited until the exchange would refuse it as late."""
        records = await self.store.take_over()
        resumed = 0
        for record in records:
            signal = record.signal
            if signal.signal_id in self._running:
                continue
            self.audit.record(
                "accepted",
                signal_id=signal.signal_id,
                account=signal.account,
                symbol=signal.symbol,
                reason="recovered",
                attempt=record.attempts,
            )
            self._start(signal, _Attempt(resume=True, attempted_at=self.clock()))
            resumed += 1
        return resumed

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` s for executions still running, then cancel the rest (they
        stay journaled as executing, for the next process to resume); returns how many were
        cancelled."""
        pending = self._tasks | self._requests
        if not pending:
            return 0
        _, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=5.0)
        return len(still)

    # --- admin ------------------------------------------------------------------------------

    async def lookup(
        self, signal_id: str, *, path: bytes, peer: str | None, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """``GET /signals/{id}``: (HTTP status, body). Same auth as the webhook, no allowlist."""
        try:
            client = self.sources.client(peer, headers.get("x-forwarded-for"))
            if not await self.limiter.allow(client):
                self.metrics.rate_limit_rejections.inc()
                raise RateLimited("more than the rate limit from this source")
            self.auth.check_admin(path, headers)
            record = await self.store.get(signal_id)
        except ExecutorError as exc:  # (the id asked for is not repeated to an unknown caller)
            outcome = Outcome.from_error(exc, None)
            return outcome.http_status, outcome.body()
        if record is None:
            return 404, {"status": "not_found", "reason": "unknown_signal", "signal_id": signal_id}
        return 200, _record_view(record)

    async def readiness(self) -> dict[str, bool]:
        checks = {"config": True, "journal": await self.store.ping()}
        checks.update(self.executor.ready())
        return checks


def _order_id(outcome: Outcome) -> str | None:
    order = outcome.order
    if order is None:
        return None
    value = order.get("id")
    return str(value) if value is not None else None


def _record_view(record: SignalRecord) -> dict[str, Any]:
    signal = record.signal.as_dict()
    return {
        "signal_id": record.signal_id,
        "state": record.state.value,
        "received_at": record.received_at,
        "updated_at": record.updated_at,
        "signal": signal,
        "outcome": record.outcome.body() if record.outcome else None,
        "finished": record.state is SignalState.DONE,
        "attempts": record.attempts,
    }
