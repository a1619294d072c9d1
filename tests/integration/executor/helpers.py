"""Start ``fks-executor`` as a real process from a config file, and talk to it over HTTP."""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.harness.procs import REPO, ManagedProcess, free_port, http_ok

SECRET = "integration-secret-9d8c7b6a5f4e3d2c"
EXECUTOR = shutil.which("fks-executor", path=str(Path(sys.executable).parent)) or "fks-executor"

BASE: dict[str, Any] = {
    "pipeline": "itest",
    "dryRun": True,
    "listen": {"host": "127.0.0.1"},
    "webhook": {"auth": "hmac-or-token", "secretEnv": "FKS_WEBHOOK_SECRET", "minConfidence": 0.6},
    "accounts": [{"name": "main", "exchange": "binance", "environment": "testnet"}],
    "risk": {"sizing": {"method": "fixed-notional", "notionalUSD": 100}},
    "rateLimit": {"requestsPerMinute": 10_000},
}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Executor:
    process: ManagedProcess
    port: int
    config_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, body: bytes | dict[str, Any], **headers: str) -> httpx.Response:
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        return httpx.post(f"{self.url}/webhook/tradingview", content=content, headers=headers)

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=headers)


def write_config(directory: Path, changes: dict[str, Any], port: int) -> Path:
    data = merge(BASE, changes)
    data.setdefault("listen", {})["port"] = port
    path = directory / f"executor-{port}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@contextlib.contextmanager
def running_executors(
    directory: Path,
    changes: dict[str, Any] | None = None,
    *,
    count: int = 2,
    env: dict[str, str] | None = None,
    name: str = "executor",
) -> Iterator[list[Executor]]:
    """``count`` executors with the same config (own ports), started side by side."""
    full_env = {"FKS_WEBHOOK_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    full_env.update(env or {})
    started: list[Executor] = []
    try:
        for i in range(count):
            port = free_port()
            path = write_config(directory, changes or {}, port)
            proc = ManagedProcess(
                f"{name}-{i}" if count > 1 else name,
                [EXECUTOR, "--config", str(path)],
                env=full_env,
                cwd=REPO,
            )
            started.append(Executor(proc, port, path))
        for ex in started:
            ex.process.wait_ready(lambda ex=ex: http_ok(f"{ex.url}/health"), timeout=30)
        yield started
    finally:
        for ex in started:
            ex.process.stop()


@contextlib.contextmanager
def running_executor(
    directory: Path,
    changes: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    name: str = "executor",
) -> Iterator[Executor]:
    with running_executors(directory, changes, count=1, env=env, name=name) as (ex,):
        yield ex


def alert(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": "BINANCE:BTCUSDT",
        "action": "buy",
        "price": 68000,
        "timestamp": int(time.time()),
        "passphrase": SECRET,
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
