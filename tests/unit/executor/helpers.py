"""Building executor apps in-process for unit tests: over ASGI (no server, no sockets), or
behind an in-process uvicorn on a loopback port where an answer must arrive before the
request's task ends (the 202 at the response deadline)."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from fks_executor.app import create_app
from fks_executor.config import ExecutorConfig, parse_config, resolve_secrets
from fks_executor.domain import Action, OrderResult, Outcome, Signal
from fks_executor.exchange.client_ids import Leg, client_order_id
from fks_executor.execution import SignalExecutor
from fks_executor.runtime import SHUTDOWN_GRACE_SECONDS
from fks_executor.state.store import SignalStore

SECRET = "unit-test-secret-4f1c2a9e7b3d"
CLIENT = ("127.0.0.1", 40000)

BASE: dict[str, Any] = {
    "pipeline": "unit",
    "dryRun": True,
    "webhook": {"auth": "hmac-or-token", "secretEnv": "FKS_WEBHOOK_SECRET", "minConfidence": 0.6},
    "accounts": [
        {"name": "main", "exchange": "binance", "default": True},
        {"name": "spare", "exchange": "kraken"},
    ],
    "rateLimit": {"requestsPerMinute": 100_000},
}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def make_config(tmp_path: Path | None = None, **changes: Any) -> ExecutorConfig:
    data = merge(BASE, changes)
    if tmp_path is not None and "audit" not in changes:
        data["audit"] = {"path": str(tmp_path / "audit.jsonl")}
    return parse_config(data)


class AlertPriceExecutor:
    """Stands in for the exchange layer in intake unit tests (the unit tier runs no exchange
    process; the real Trader against the fake exchange is tested in tests/integration): a
    simulated fill of ``amount`` (else ``size_usd / price``, else 100 USD) at the alert's
    ``price``, with the real client order id."""

    def __init__(self, config: ExecutorConfig) -> None:
        self.config = config
        self.calls: list[tuple[str, bool, float | None]] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def ready(self) -> dict[str, bool]:
        return {}

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.calls.append((signal.signal_id, resume, attempted_at))
        price = signal.price or 68_000.0
        amount = signal.amount or (signal.size_usd or 100.0) / price
        account = signal.account or self.config.default_account.name
        exchange = next(a.exchange for a in self.config.accounts if a.name == account)
        coid = client_order_id(self.config.pipeline, account, signal.signal_id, Leg.ENTRY)
        order = OrderResult(
            id=f"dry-{coid}",
            client_order_id=coid,
            account=account,
            exchange=exchange,
            symbol=signal.symbol,
            side="buy" if signal.action is Action.BUY else "sell",
            type=signal.order_type.value,
            amount=round(amount, 8),
            price=price,
            status="simulated",
            filled=round(amount, 8),
            cost=round(amount * price, 8),
            dry_run=True,
        )
        return Outcome("dry_run", signal.signal_id, 200, order=order.as_dict())


def make_app(
    config: ExecutorConfig,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The real app on ``config``; the executor is ``AlertPriceExecutor`` unless given."""
    secrets = resolve_secrets(config, {"FKS_WEBHOOK_SECRET": SECRET})
    return create_app(
        config,
        secrets,
        executor=executor or AlertPriceExecutor(config),
        store=store,
        clock=clock,
    )


@asynccontextmanager
async def serve(
    app: Starlette, client: tuple[str, int] = CLIENT
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client talking ASGI to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://executor") as http:
            yield http


@asynccontextmanager
async def serve_http(
    app: Starlette, grace: int = SHUTDOWN_GRACE_SECONDS
) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn server (as ``fks-executor`` runs it) on a free loopback
    port, and an httpx client to it. ``ASGITransport`` returns a response only once the app
    has returned, which it does at the response deadline at the latest.
    ``grace``: the graceful-shutdown period when the block exits (uvicorn's for requests in
    flight, then the runtime's for executions still running)."""
    app.state.runtime.shutdown_grace = grace
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="on",
            log_level="warning",
            timeout_graceful_shutdown=grace,
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        server.should_exit = True
        await serving


def alert(**fields: Any) -> dict[str, Any]:
    """A valid token-authenticated alert; ``None`` values remove a field."""
    body: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "action": "buy",
        "price": 68000,
        "timestamp": int(time.time()),
        "passphrase": SECRET,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


class SlowExecutor:
    """Execution that waits for the test (a real exchange that answers late)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls: list[Signal] = []

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def ready(self) -> dict[str, bool]:
        return {"markets:main": True}

    async def execute(
        self, signal: Signal, *, resume: bool = False, attempted_at: float | None = None
    ) -> Outcome:
        self.calls.append(signal)
        await self.release.wait()
        return Outcome(status="executed", signal_id=signal.signal_id, order={"id": "ex-1"})
