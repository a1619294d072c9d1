"""The HTTP layer (thin): routes -> intake -> JSON answers. ``create_app`` wires the parts.

Endpoints (SPEC §3): ``POST /webhook/tradingview`` and ``POST /webhook``, ``GET /health``,
``GET /ready``, ``GET /metrics``, ``GET /signals/{signal_id}``. No OpenAPI/docs pages.

A Starlette app: every handler takes the request and returns a response, so nothing here
needs FastAPI's parameter injection or OpenAPI models, which cost ~7 MiB of each executor's
memory (docs/executor.md#footprint).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from fks_executor.audit import AuditLog
from fks_executor.auth import Authenticator
from fks_executor.config import ConfigError, ExecutorConfig, ResolvedSecrets
from fks_executor.domain import Outcome
from fks_executor.errors import BodyTooLarge, InternalError, InvalidJson
from fks_executor.execution import SignalExecutor, build_executor
from fks_executor.intake import Intake, IntakeRequest
from fks_executor.journal import SqliteSignalStore, check_journal_path
from fks_executor.ledgers import build_ledger
from fks_executor.metrics import CONTENT_TYPE, Metrics
from fks_executor.ratelimit import RateLimiter
from fks_executor.redis_store import RedisSignalStore
from fks_executor.risk import FillsLedger
from fks_executor.store import DEFAULT_RETENTION_SECONDS, MemorySignalStore, SignalStore

__all__ = [
    "SHUTDOWN_GRACE_SECONDS",
    "Runtime",
    "Webhook",
    "create_app",
    "header_map",
    "read_limited",
    "send_answer",
]

log = logging.getLogger("fks_executor")

#: How long the webhook waits for a request's whole body once its headers are in.
BODY_TIMEOUT_SECONDS = 10.0

#: How long shutdown waits for executions still running in the background: uvicorn's
#: graceful-shutdown period (an execution answered 202 runs on in its request's task), then
#: the lifespan's ``drain`` of signals resumed from the journal.
SHUTDOWN_GRACE_SECONDS = 10


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(
        content=orjson.dumps(body),
        status_code=status,
        media_type="application/json",
    )


def answer(outcome: Outcome) -> Response:
    return _json(outcome.http_status, outcome.body())


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name. A name sent on several lines gets their
    values joined with ", ", as HTTP defines (RFC 9110 §5.3): a proxy that adds its own
    ``X-Forwarded-For`` line after the client's is read right, and a repeated signature or
    ``Authorization`` header matches no secret. (A plain dict: looking up an absent header in
    Starlette's ``Headers`` raises and catches a ``KeyError``, and the webhook looks up several
    that are usually absent.)"""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def read_limited(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The raw body, refusing (``BodyTooLarge``) as soon as it passes ``limit`` bytes —
    by Content-Length before reading anything, else while streaming: never buffered whole.
    A client gone before its body was complete is ``InvalidJson`` (nothing to parse)."""
    declared = headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge(f"body is {declared} bytes (at most {limit})")
        except ValueError:
            pass  # the server rejects malformed lengths; the stream check below still holds
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise InvalidJson("the client disconnected before the body was complete")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_answer(send: Send, outcome: Outcome) -> None:
    """``outcome`` as the JSON answer, in the two ASGI messages (what ``answer(outcome)``
    sends, without building a ``Response`` on the webhook's path)."""
    body = orjson.dumps(outcome.body())
    await send(
        {
            "type": "http.response.start",
            "status": outcome.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Runtime:
    """Everything one executor process runs on; started and stopped by the app's lifespan."""

    config: ExecutorConfig
    metrics: Metrics
    audit: AuditLog
    store: SignalStore
    limiter: RateLimiter
    executor: SignalExecutor
    intake: Intake
    ledger: FillsLedger | None = None
    redis_pool: Any = None
    recover_every: float | None = None
    """Redis: how often to look for signals of dead replicas to take over."""
    _recoverer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.open()
        await self.executor.start()
        # Unfinished signals in the store were left by a process that is gone (this one's
        # previous run, or with Redis a dead replica): finish them, orders looked up first.
        if self.config.suspend:
            with contextlib.suppress(Exception):
                left = len(await self.store.unfinished())
                if left:
                    log.warning("suspended: %d unfinished signal(s) stay in the journal", left)
        else:
            await self._recover()
            if self.recover_every:
                self._recoverer = asyncio.create_task(self._keep_recovering(), name="fks-recover")
        # Everything alive now (frameworks, ccxt's tables, loaded markets) lives as long as the
        # process: move it out of the collector's sight, so a full collection under load scans
        # only what requests allocate (without this: ~50 ms pauses, the p99 of the webhook).
        gc.collect()
        gc.freeze()

    async def _recover(self) -> None:
        try:
            recovered = await self.intake.recover()
        except Exception as exc:
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
        left = await self.intake.drain(SHUTDOWN_GRACE_SECONDS)
        if left:
            log.warning(
                "shutting down: %d signal(s) still executing were stopped; they stay journaled "
                "and are resumed by the next executor",
                left,
            )
        steps = [self.executor.close, self.limiter.close, self.store.close]
        if self.ledger is not None:
            steps.insert(1, self.ledger.close)
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("error during shutdown")
        if self.redis_pool is not None:
            await self.redis_pool.aclose()
        self.audit.close()


def build_runtime(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    """Construct (no I/O yet) the parts the config asks for; tests may pass their own seams."""
    metrics = Metrics(config.pipeline, [a.name for a in config.accounts])
    audit = AuditLog(config.audit.path, config.pipeline, metrics)
    retention = max(DEFAULT_RETENTION_SECONDS, 2 * config.webhook.max_signal_age_seconds)
    rpm = config.rate_limit.requests_per_minute
    pool = None
    client = None
    recover_every = None
    if config.state.backend == "redis":
        import redis.asyncio as aioredis

        assert secrets.redis_url is not None
        pool = aioredis.ConnectionPool.from_url(
            secrets.redis_url.get_secret_value(),
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
        )
        client = aioredis.Redis(connection_pool=pool)
        lease = config.state.lease_seconds
        if store is None:  # (not `or`: an empty memory store is falsy)
            store = RedisSignalStore(client, config.pipeline, retention=retention, lease=lease)
        limiter = RateLimiter.on_redis(rpm, config.pipeline, pool)
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
        ledger = build_ledger(
            pipeline=config.pipeline,
            daily_loss_limit_usd=config.risk.daily_loss_limit_usd,
            journal_path=config.state.journal_path,
            redis_client=client,
        )
        executor = build_executor(config, secrets, metrics, audit, ledger=ledger)
    intake = Intake(
        config,
        authenticator=Authenticator(config.webhook.auth, secrets.webhook_secret.get_secret_value()),
        store=store,
        limiter=limiter,
        executor=executor,
        audit=audit,
        metrics=metrics,
        clock=clock,
    )
    return Runtime(
        config,
        metrics,
        audit,
        store,
        limiter,
        executor,
        intake,
        ledger=ledger,
        redis_pool=pool,
        recover_every=recover_every,
    )


class Webhook:
    """``POST /webhook/tradingview`` and ``POST /webhook``, a plain ASGI app: the raw body in,
    one JSON answer out. It needs no parameter injection (FastAPI's would cost more than a
    third of a bare request), and it must be able to answer before it returns: an
    execution still running at the response deadline is answered ``202 accepted`` from a
    small task while this request's task goes on executing it. An alert's audit lines are
    written before its answer is sent."""

    def __init__(self, runtime: Runtime, body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.intake = runtime.intake
        self.audit = runtime.audit
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        headers = header_map(scope)
        early: list[asyncio.Task[None]] = []

        def answer_early(outcome: Outcome) -> None:
            self.audit.flush()
            early.append(asyncio.get_running_loop().create_task(send_answer(send, outcome)))

        async def read_body(limit: int) -> bytes:
            # a slow sender must not hold the request (and its connection) open for good
            try:
                async with asyncio.timeout(self.body_timeout):
                    return await read_limited(receive, headers, limit)
            except TimeoutError:
                raise InvalidJson(
                    f"the body did not arrive within {self.body_timeout:g} s"
                ) from None

        outcome = await self.intake.handle_webhook(
            IntakeRequest(
                peer=client[0] if client else None,
                headers=headers,
                read_body=read_body,
                answer_early=answer_early,
            )
        )
        if early:
            await early[0]
        else:
            self.audit.flush()
            await send_answer(send, outcome)


def create_app(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    runtime = build_runtime(config, secrets, executor=executor, store=store, clock=clock)
    intake = runtime.intake

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    async def health(_: Request) -> Response:
        return _json(200, {"status": "ok"})

    async def ready(_: Request) -> Response:
        checks = await intake.readiness()
        ok = all(checks.values())
        body: dict[str, Any] = {"ready": ok, "mode": config.mode, "checks": checks}
        markets = getattr(runtime.executor, "markets_loaded", None)
        if markets is not None:  # every account, dry-run ones too (which do not gate /ready)
            body["markets"] = markets()
        return _json(200 if ok else 503, body)

    async def metrics(_: Request) -> Response:
        return Response(content=runtime.metrics.render(), media_type=CONTENT_TYPE)

    async def signal(request: Request) -> Response:
        client = request.client
        status, body = await intake.lookup(
            request.path_params["signal_id"],
            path=request.scope.get("raw_path") or request.url.path.encode(),
            peer=client.host if client else None,
            headers=request.headers,
        )
        return _json(status, body)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(exc.status_code, {"status": "rejected", "reason": reason})

    async def unexpected(_: Request, exc: Exception) -> Response:
        log.error("unhandled %s in a request handler", type(exc).__name__, exc_info=exc)
        return answer(Outcome.from_error(InternalError(), None))

    webhook = Webhook(runtime)
    app = Starlette(
        routes=[
            Route("/webhook/tradingview", webhook, methods=["POST"]),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/signals/{signal_id:path}", signal, methods=["GET"]),
        ],
        exception_handlers={StarletteHTTPException: http_error, Exception: unexpected},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
