"""Intake: from an HTTP request to a claimed signal, or the answer that refuses it
(docs/executor.md, "Alerts" and "Answers"), checked in this order:

1. source allowlist (403 ``ip_not_allowed``)      6. schema (422 ``invalid_payload``), account
2. rate limit per source (429 ``rate_limited``)       (422 ``unknown_account``)
3. body: at most 64 KiB (413 ``body_too_large``)  7. kill switch (503 ``suspended``)
   within 10 s (400 ``invalid_json``)              8. timestamp (422 ``stale``)
4. HMAC signature, when sent                      9. confidence (200 ``ignored``)
5. JSON (400 ``invalid_json``), passphrase        10. claim (200 ``duplicate``; a retryable
   (401 ``invalid_signature``)                        503 is retried)

:meth:`Intake.admit` returns a :class:`~fks_executor.execution.Claimed` signal (journaled as
``executing``, audited ``accepted``) for ``fks_executor.execution`` to run, or the ``Outcome``
to answer instead. Every refusal is an ``ExecutorError``, turned into its answer, counted and
audited here, in one place. This is the one place that checks the alert's account.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fks_executor.audit import AuditLog
from fks_executor.auth import Authenticator
from fks_executor.config import ExecutorConfig
from fks_executor.domain import ALL_ACCOUNTS, Outcome
from fks_executor.errors import (
    BodyTooLarge,
    ExecutorError,
    InternalError,
    InvalidJson,
    InvalidPayload,
    InvalidSignature,
    RateLimited,
    SourceNotAllowed,
    Stale,
    Suspended,
    UnknownAccount,
)
from fks_executor.execution import Claimed, accepted, order_id
from fks_executor.metrics import Metrics
from fks_executor.ratelimit import RateLimiter
from fks_executor.signals import build_signal, check_freshness, decode_body, take_passphrase
from fks_executor.sources import SourcePolicy
from fks_executor.state.store import SignalRecord, SignalState, SignalStore

__all__ = ["BODY_TIMEOUT_SECONDS", "MAX_BODY_BYTES", "Intake", "IntakeRequest", "read_body"]

log = logging.getLogger("fks_executor.intake")

MAX_BODY_BYTES = 64 * 1024
#: How long the body may take to arrive once the headers are in.
BODY_TIMEOUT_SECONDS = 10.0
_VALIDATION = (InvalidJson, InvalidPayload, BodyTooLarge, Stale)


@dataclass(frozen=True, slots=True)
class IntakeRequest:
    """What intake reads of an HTTP request: the peer address, the headers by lower-case
    name (a name sent on several lines has its values joined with ", "), and the body as it
    streams in (raising ``InvalidJson`` when the client goes away before its end)."""

    peer: str | None
    headers: Mapping[str, str]
    body: AsyncIterator[bytes]


@dataclass(slots=True)
class _Seen:
    """What intake has learnt of the request so far, for the audit line of a refusal."""

    source: str | None = None
    signal_id: str | None = None
    account: str | None = None
    symbol: str | None = None


class Intake:
    def __init__(
        self,
        config: ExecutorConfig,
        *,
        authenticator: Authenticator,
        store: SignalStore,
        limiter: RateLimiter,
        audit: AuditLog,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.auth = authenticator
        self.store = store
        self.limiter = limiter
        self.audit = audit
        self.metrics = metrics
        self.clock = clock
        self.sources = SourcePolicy(config.webhook.allowed_sources, config.webhook.trusted_proxies)
        self.body_timeout = BODY_TIMEOUT_SECONDS
        # fanOut: an alert naming no account goes to every one (docs/executor.md#fan-out)
        self._default_account = ALL_ACCOUNTS if config.fan_out else config.default_account.name
        self._accounts = {a.name for a in config.accounts} | {ALL_ACCOUNTS}

    async def admit(self, request: IntakeRequest) -> Claimed | Outcome:
        """The claimed signal to execute, or the answer for a request that does not get
        that far (a refusal, ``ignored``, ``duplicate``). Audited either way."""
        seen = _Seen()
        try:
            return await self._admit(request, seen)
        except ExecutorError as exc:
            if isinstance(exc, InvalidSignature):
                self.metrics.signature_failures.inc()
            elif isinstance(exc, _VALIDATION):
                self.metrics.validation_failures.labels(exc.reason).inc()
            outcome = Outcome.from_error(exc, seen.signal_id)
        except Exception:
            # A bug: answered 500 and audited like any refusal (every request gets its audit
            # line); the traceback goes to the log, never to the caller.
            log.exception("internal error while taking in a webhook (signal %s)", seen.signal_id)
            outcome = Outcome.from_error(InternalError(), seen.signal_id)
        self._audit(outcome, seen)
        return outcome

    async def _admit(self, request: IntakeRequest, seen: _Seen) -> Claimed | Outcome:
        config = self.config
        client = seen.source = self.sources.client(
            request.peer, request.headers.get("x-forwarded-for")
        )
        if not self.sources.allows(client):
            raise SourceNotAllowed("the source address is not in webhook.allowedSources")
        if not await self.limiter.allow(client):
            self.metrics.rate_limit_rejections.inc()
            raise RateLimited(
                f"more than {config.rate_limit.requests_per_minute} requests per minute "
                "from this source"
            )

        try:  # a slow sender must not hold its connection open for good
            async with asyncio.timeout(self.body_timeout):
                raw = await read_body(
                    request.body, request.headers.get("content-length"), limit=MAX_BODY_BYTES
                )
        except TimeoutError:
            raise InvalidJson(f"the body did not arrive within {self.body_timeout:g} s") from None
        signed = self.auth.check_signature_first(raw, request.headers)
        obj = decode_body(raw)
        passphrase = take_passphrase(obj) if isinstance(obj, dict) else None
        if not signed:
            self.auth.check_token(passphrase)
        del passphrase
        if not isinstance(obj, dict):
            raise InvalidPayload("body: must be a JSON object")

        signal = build_signal(obj, raw, default_account=self._default_account)
        seen.signal_id, seen.symbol = signal.signal_id, signal.symbol
        if signal.account not in self._accounts:  # (not recorded: it could be anything)
            raise UnknownAccount("account: not one of this pipeline's accounts")
        seen.account = signal.account

        if config.suspend:
            raise Suspended("pipeline is suspended (kill switch): no orders are placed")
        check_freshness(signal.timestamp, self.clock(), config.webhook.max_signal_age_seconds)
        if signal.confidence < config.webhook.min_confidence:
            ignored = Outcome(
                status="ignored",
                reason="low_confidence",
                signal_id=signal.signal_id,
                detail=f"confidence is below minConfidence {config.webhook.min_confidence:g}",
            )
            self._audit(ignored, seen)
            return ignored

        claim = await self.store.claim(signal)
        record = claim.record
        if not claim.won:
            duplicate = _duplicate(record)
            self.audit.record(
                "duplicate",
                signal_id=signal.signal_id,
                account=signal.account,
                symbol=signal.symbol,
                reason=record.outcome.status if record.outcome else record.state.value,
                order_id=order_id(duplicate),
                source=client,
                http_status=200,
            )
            return duplicate
        retry = record.attempts > 1
        self.audit.record(
            "accepted",
            signal_id=signal.signal_id,
            account=signal.account,
            symbol=signal.symbol,
            source=client,
            attempt=record.attempts if retry else None,
        )
        # A retry executes the signal as first recorded, looking its orders up first when an
        # earlier attempt left one unsettled.
        unsettled = record.unsettled_since
        return Claimed(record.signal, resume=unsettled is not None, attempted_at=unsettled)

    def _audit(self, outcome: Outcome, seen: _Seen) -> None:
        self.audit.record(
            outcome.status,
            signal_id=seen.signal_id,
            account=seen.account,
            symbol=seen.symbol,
            reason=outcome.reason,
            source=seen.source,
            http_status=outcome.http_status,
            detail=outcome.detail,
        )

    # --- GET /signals/{id} ------------------------------------------------------------------

    async def lookup(
        self, signal_id: str, *, path: bytes, peer: str | None, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body). The webhook's auth and rate limit, no allowlist."""
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


async def read_body(body: AsyncIterator[bytes], declared: str | None, *, limit: int) -> bytes:
    """The raw body, refused (``BodyTooLarge``) as soon as it passes ``limit`` bytes: by its
    declared Content-Length before reading anything, else while streaming (never buffered
    whole)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body is {declared} bytes (at most {limit})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _duplicate(record: SignalRecord) -> Outcome:
    first = record.outcome
    if first is None:  # still executing (here or at another replica)
        first = accepted(record.signal_id, f"first delivery is {record.state.value}")
    return Outcome(
        status="duplicate",
        signal_id=record.signal_id,
        http_status=200,
        order=first.order,
        orders=first.orders,
        outcomes=first.outcomes,
        first=first.body(),
    )


def _record_view(record: SignalRecord) -> dict[str, Any]:
    return {
        "signal_id": record.signal_id,
        "state": record.state.value,
        "received_at": record.received_at,
        "updated_at": record.updated_at,
        "signal": record.signal.as_dict(),
        "outcome": record.outcome.body() if record.outcome else None,
        "finished": record.state is SignalState.DONE,
        "attempts": record.attempts,
    }
