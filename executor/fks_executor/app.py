"""The HTTP layer: routes only (docs/executor.md, "Endpoints").

``POST /webhook/tradingview`` and ``POST /webhook`` (an alert: intake, then execution),
``GET /health``, ``GET /ready``, ``GET /metrics``, ``GET /signals/{signal_id}``. No OpenAPI
pages. ``create_app`` builds the runtime (``fks_executor.runtime``) and runs it in the app's
lifespan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope

from fks_executor.config import ExecutorConfig, ResolvedSecrets
from fks_executor.domain import Outcome
from fks_executor.errors import InternalError, InvalidJson
from fks_executor.execution import SignalExecutor
from fks_executor.intake import IntakeRequest
from fks_executor.metrics import CONTENT_TYPE
from fks_executor.runtime import Runtime, build_runtime
from fks_executor.state.store import SignalStore

__all__ = ["RequestBody", "create_app", "header_map"]

log = logging.getLogger("fks_executor")


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name. A name sent on several lines gets their
    values joined with ", ", as HTTP defines (RFC 9110 §5.3): a proxy that adds its own
    ``X-Forwarded-For`` line after the client's is read right, and a repeated signature or
    ``Authorization`` header matches no secret."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class RequestBody:
    """A request's body as it streams in, chunk by chunk (read once); a client gone before
    its end is ``InvalidJson``: there is nothing to parse."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._done = False

    def __aiter__(self) -> RequestBody:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        message = await self._receive()
        if message["type"] != "http.request":  # http.disconnect
            raise InvalidJson("the client disconnected before the body was complete")
        self._done = not message.get("more_body", False)
        chunk: bytes = message.get("body", b"")
        return chunk


def create_app(
    config: ExecutorConfig,
    secrets: ResolvedSecrets,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    runtime = build_runtime(config, secrets, executor=executor, store=store, clock=clock)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = Starlette(
        routes=[
            Route("/webhook/tradingview", webhook, methods=["POST"]),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/signals/{signal_id:path}", signal, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def webhook(request: Request) -> Response:
    """An alert: edge -> intake -> execution. Its audit lines are written before its answer."""
    started = time.perf_counter()
    runtime = _runtime(request)
    client = request.client
    admitted = await runtime.intake.admit(
        IntakeRequest(
            peer=client.host if client else None,
            headers=header_map(request.scope),
            body=RequestBody(request.receive),
        )
    )
    if isinstance(admitted, Outcome):
        outcome = admitted
    else:
        outcome = await runtime.execution.answer(admitted)
    runtime.metrics.count_request(outcome.status, outcome.reason)
    runtime.metrics.webhook_duration.observe(time.perf_counter() - started)
    runtime.audit.flush()
    return _json(outcome.http_status, outcome.body())


async def health(_: Request) -> Response:
    return _json(200, {"status": "ok"})


async def ready(request: Request) -> Response:
    runtime = _runtime(request)
    checks = await runtime.readiness()
    ok = all(checks.values())
    body: dict[str, Any] = {"ready": ok, "mode": runtime.config.mode, "checks": checks}
    markets = getattr(runtime.executor, "markets_loaded", None)
    if markets is not None:  # every account, dry-run ones too (which do not gate /ready)
        body["markets"] = markets()
    futures = getattr(runtime.executor, "futures", None)
    if futures is not None and futures.keepers:  # reported, not gating: docs/executor.md
        body["futures"] = {"conflicts": futures.conflicts()}
    return _json(200 if ok else 503, body)


async def metrics(request: Request) -> Response:
    return Response(_runtime(request).metrics.render(), media_type=CONTENT_TYPE)


async def signal(request: Request) -> Response:
    client = request.client
    status, body = await _runtime(request).intake.lookup(
        request.path_params["signal_id"],
        path=request.scope.get("raw_path") or request.url.path.encode(),
        peer=client.host if client else None,
        headers=header_map(request.scope),
    )
    return _json(status, body)


async def http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _json(exc.status_code, {"status": "rejected", "reason": reason})


async def unexpected(_: Request, exc: Exception) -> Response:
    """A bug: ``500 internal_error``, the traceback to the log, never to the caller."""
    log.error("unhandled %s in a request handler", type(exc).__name__, exc_info=exc)
    outcome = Outcome.from_error(InternalError(), None)
    return _json(outcome.http_status, outcome.body())
