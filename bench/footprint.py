"""Footprint benchmark (issue 14): what one executor pod costs, and what the images weigh.

Real processes: the fake Binance exchange (``fks-fake-exchange``) and ``fks-executor`` with
one Binance spot account pointed at it, in dry-run with the memory signal store (the store
that lives in process memory, so the one whose growth shows in RSS). Measured:

- time from starting the process to ``/ready`` answering 200 (markets loaded);
- resident memory (``VmRSS``) idle, once ready;
- the same idle figure for a trading executor (testnet account with keys, SQLite journal,
  the warm state on, ``warmStateMaxAgeSeconds: 10``: ccxt.pro's Binance class imported, the
  balance stream open), a second process started after the first one stopped;
- resident memory after ``--signals`` alerts (default 100,000), each with a new id and an
  explicit ``amount`` and ``price``, sent through the real HTTP edge on keep-alive
  connections; every answer must be ``200 dry_run``. With more signals than the memory
  store's cap (``MemorySignalStore.max_records``), this is the figure at the cap;
- the image sizes, when a Docker engine answers and ``make images`` built them
  (``IMAGE_PREFIX`` as for ``make images``).

Targets: idle <= 80 MiB (dry-run and trading), after the signals <= 120 MiB, ready <= 5 s,
executor image <= 200 MB, operator image <= 150 MB. Usage: ``make bench-footprint`` or
``.venv/bin/python bench/footprint.py [--signals N]`` (~1 min for 100,000 on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.controlplane import rss_of  # noqa: E402
from tests.harness.fake_exchange import FakeExchange, fake_exchange_process  # noqa: E402
from tests.harness.procs import ManagedProcess, free_port, http_ok  # noqa: E402

from fks_executor.state.store import MemorySignalStore  # noqa: E402

SECRET = "bench-secret-" + uuid.uuid4().hex
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
TARGET_IDLE_MIB = 80.0
TARGET_LOADED_MIB = 120.0
TARGET_READY_S = 5.0
TARGET_IMAGE_MB = {"executor": 200.0, "operator": 150.0}
_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


def executor_config(directory: Path, fx: FakeExchange, port: int, trading: bool = False) -> Path:
    config: dict[str, Any] = {
        "pipeline": "bench-footprint",
        "dryRun": not trading,
        "listen": {"host": "127.0.0.1", "port": port},
        "webhook": {
            "auth": "token",
            "secretEnv": "FKS_WEBHOOK_SECRET",
            "maxSignalAgeSeconds": 3600,
        },
        "accounts": [
            {
                "name": "main",
                "exchange": "binance",
                "environment": "live",
                "marketType": "spot",
                "endpoint": fx.base_url,
                "options": {"enableRateLimit": "false"},
            }
        ],
        "risk": {"maxPositionSizeUSD": 1e12, "maxOrderSizeUSD": 1e12},
        "rateLimit": {"requestsPerMinute": 100_000_000},
        "state": {"backend": "memory"},
        "audit": {"path": str(directory / "audit.jsonl")},
    }
    if trading:
        config["accounts"][0].update(
            environment="testnet", apiKeyEnv="FKS_FAKE_API_KEY", secretEnv="FKS_FAKE_SECRET"
        )
        config["state"]["journalPath"] = str(directory / "journal.db")
        config["execution"] = {"warmStateMaxAgeSeconds": 10}
    path = directory / ("trading.yaml" if trading else "executor.yaml")
    path.write_text(yaml.safe_dump(config))
    return path


def trading_idle_rss(directory: Path, fx: FakeExchange) -> int:
    """RSS of a trading executor (warm state on) once ready and its account
    stream is open."""
    port = free_port()
    argv = [str(BIN / "fks-executor"), "--config", str(executor_config(directory, fx, port, True))]
    env = {
        "FKS_WEBHOOK_SECRET": SECRET,
        "FKS_FAKE_API_KEY": fx.api_key,
        "FKS_FAKE_SECRET": fx.secret,
    }
    proc = ManagedProcess("bench-footprint-trading", argv, env=env)
    try:
        proc.wait_ready(lambda: http_ok(f"http://127.0.0.1:{port}/ready"), timeout=60)
        deadline = time.monotonic() + 30
        while "spot@user" not in fx.ws_state()["topics"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the trading executor's balance stream did not open")
            time.sleep(0.2)
        return settled_rss(proc.pid)
    finally:
        proc.stop()


def request(i: int, tag: str) -> bytes:
    body = json.dumps(
        {
            "symbol": "BTCUSDT",
            "action": "buy" if i % 2 == 0 else "sell",
            "timestamp": int(time.time()),
            "id": f"tv-{tag}-{i:07d}",
            "amount": 0.0002,
            "price": 68_000,
            "passphrase": SECRET,
        }
    ).encode()
    head = (
        "POST /webhook/tradingview HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def send_signals(port: int, count: int, connections: int) -> float:
    """Send ``count`` alerts over ``connections`` keep-alive connections; seconds taken."""
    tag = uuid.uuid4().hex[:8]
    next_index = iter(range(count))
    done = 0

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in next_index:
                writer.write(request(i, tag))
                head = await reader.readuntil(b"\r\n\r\n")
                match = _LENGTH.search(head)
                data = await reader.readexactly(int(match.group(1))) if match else b""
                if head[9:12] != b"200" or json.loads(data).get("status") != "dry_run":
                    raise RuntimeError(f"alert {i}: {head[9:12].decode()} {data[:200]!r}")
                done += 1
                if done % 20_000 == 0:
                    print(f"  {done}/{count} alerts answered", flush=True)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


def settled_rss(pid: int) -> int:
    """VmRSS once it stops moving (the allocator returns freed arenas lazily)."""
    time.sleep(1.0)
    return rss_of(pid)


def image_sizes() -> tuple[dict[str, float], str]:
    """Sizes in MB of the images ``make images`` tags, or why there are none."""
    docker = shutil.which("docker")
    if docker is None:
        return {}, "no docker client here: image sizes not measured"
    if subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:
        return {}, "no Docker engine answers (hack/docker/dockerd.sh): image sizes not measured"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    prefix = os.environ.get("IMAGE_PREFIX", "")  # as hack/docker/build-images.sh
    sizes: dict[str, float] = {}
    missing = []
    for name in TARGET_IMAGE_MB:
        tag = f"{prefix}fks-{name}:{version}"
        found = subprocess.run(
            [docker, "image", "inspect", "--format", "{{.Size}}", tag],
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode == 0:
            sizes[name] = int(found.stdout.strip()) / 1e6
        else:
            missing.append(tag)
    note = f"not built (make images): {', '.join(missing)}" if missing else ""
    return sizes, note


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=100_000, help="alerts to send")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    args = parser.parse_args()

    print("bench-footprint: one executor (one Binance spot account, dry-run, memory store)")
    results: list[tuple[str, str, bool]] = []
    with (
        tempfile.TemporaryDirectory(prefix="fks-bench-footprint-") as tmp,
        fake_exchange_process() as fx,
    ):
        port = free_port()
        path = executor_config(Path(tmp), fx, port)
        argv = [str(BIN / "fks-executor"), "--config", str(path)]
        started = time.perf_counter()
        proc = ManagedProcess("bench-footprint-executor", argv, env={"FKS_WEBHOOK_SECRET": SECRET})
        try:
            proc.wait_ready(lambda: http_ok(f"http://127.0.0.1:{port}/ready"), timeout=60)
            ready = time.perf_counter() - started
            idle = settled_rss(proc.pid)
            print(f"  ready after {ready:.2f} s; RSS idle {idle / MIB:.1f} MiB")
            seconds = asyncio.run(send_signals(port, args.signals, args.connections))
            loaded = settled_rss(proc.pid)
        finally:
            proc.stop()
        trading = trading_idle_rss(Path(tmp), fx)
        print(f"  trading executor (warm state on): RSS idle {trading / MIB:.1f} MiB")
    rate = args.signals / seconds
    growth = (loaded - idle) / args.signals
    print(
        f"  {args.signals} alerts in {seconds:.1f} s ({rate:,.0f}/s); RSS after them "
        f"{loaded / MIB:.1f} MiB (+{(loaded - idle) / MIB:.1f} MiB, {growth:,.0f} B per alert; "
        f"the memory store keeps at most {MemorySignalStore.MAX_RECORDS:,} records)"
    )
    results.append(
        ("time to /ready", f"{ready:.2f} s <= {TARGET_READY_S:g} s", ready <= TARGET_READY_S)
    )
    results.append(
        (
            "RSS idle",
            f"{idle / MIB:.1f} MiB <= {TARGET_IDLE_MIB:g} MiB",
            idle / MIB <= TARGET_IDLE_MIB,
        )
    )
    results.append(
        (
            "RSS idle, trading",
            f"{trading / MIB:.1f} MiB <= {TARGET_IDLE_MIB:g} MiB",
            trading / MIB <= TARGET_IDLE_MIB,
        )
    )
    results.append(
        (
            f"RSS after {args.signals:,} alerts",
            f"{loaded / MIB:.1f} MiB <= {TARGET_LOADED_MIB:g} MiB",
            loaded / MIB <= TARGET_LOADED_MIB,
        )
    )
    sizes, note = image_sizes()
    for name, size in sizes.items():
        target = TARGET_IMAGE_MB[name]
        results.append((f"fks-{name} image", f"{size:.0f} MB <= {target:g} MB", size <= target))
    print()
    for what, figure, ok in results:
        print(f"{what:<28} {figure:<26} {verdict(ok)}")
    if note:
        print(f"images: {note}")
    passed = all(ok for _, _, ok in results)
    print("RESULT:", verdict(passed))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
