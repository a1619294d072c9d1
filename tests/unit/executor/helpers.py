"""Building executor apps in-process for unit tests (ASGI, no server, no sockets)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from fks_executor.app import create_app
from fks_executor.config import ExecutorConfig, parse_config, resolve_secrets
from fks_executor.execution import SignalExecutor
from fks_executor.store import SignalStore

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


def make_app(
    config: ExecutorConfig,
    *,
    executor: SignalExecutor | None = None,
    store: SignalStore | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    secrets = resolve_secrets(config, {"FKS_WEBHOOK_SECRET": SECRET})
    return create_app(config, secrets, executor=executor, store=store, clock=clock)


@asynccontextmanager
async def serve(app: FastAPI, client: tuple[str, int] = CLIENT) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client talking ASGI to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://executor") as http:
            yield http


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
