"""Execution benchmark (issues 4, 14): alert-to-order-acknowledged latency through fks-executor,
against calling ccxt ``create_order`` directly on the same fake exchange, in the same run, with
every exchange request delayed (the fake's ``latency`` fault, 30 ms by default: a venue's round
trip, so each request the executor adds shows).

Real processes: the fake exchange (``fks-fake-exchange``, one server per venue) and
``fks-executor`` (dryRun false, SQLite journal with fsync'ed commits, audit lines to a file,
its account's ``endpoint`` on the fake exchange, ccxt with its rate limiter off, the warm state
on: ``execution.warmStateMaxAgeSeconds`` 10). Each venue (``binance-spot``, ``bybit-spot``) is
measured on its own, one order at a time (closed loop), the paths interleaved order by order so
they see the same machine noise, each alert ``--gap-ms`` after the previous order (not timed):

- ``direct``:   ccxt ``create_order`` (market buy, client order id) from this process, and
  where the venue's answer lacks the fill (Bybit: ids only), the order fetched from the closed
  orders by its client id — the least a caller needs to know the order filled; with
  ``--order-entry websocket``, ccxt.pro's ``create_order_ws`` instead (the executor then sends
  its orders that way too, and the fake's latency fault delays the websocket order requests
  as it delays HTTP ones);
- ``executor``: an HTTP alert with an explicit ``amount`` and ``price`` (the position for the
  ``maxPositionSizeUSD`` cap from the warm state), timed from sending the request to reading the
  ``executed`` answer, which carries the exchange's order and its fill;
- ``default``:  an alert with neither (sized by ``fixed-notional`` at the ticker price, with the
  balance: both from the warm state).

Per path it prints p50/p90/p99 and the exchange requests per order (the fake's request counter
around each call; a background snapshot of the executor falling in the window counts too).
Target, on every venue and both executor paths: p50 <= 1.15 x the direct path's p50, and no
more exchange requests per order than the direct path. The HTTP client is a minimal keep-alive
socket client (TradingView's side of the wire), so its own cost does not count against the
executor. Usage: ``make bench-execution`` or ``.venv/bin/python bench/execution.py [--orders N]
[--venues binance-spot,bybit-spot] [--latency-ms 30] [--gap-ms 600] [--warm-state-seconds 10]
[--order-entry rest|websocket]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.fake_exchange import (  # noqa: E402
    FakeExchange,
    Venue,
    fake_exchange_process,
    venue,
)
from tests.harness.procs import ManagedProcess, free_port, http_ok  # noqa: E402

SECRET = "bench-secret-" + uuid.uuid4().hex
BIN = Path(sys.executable).parent
TARGET_RATIO = 1.15
_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


class Http:
    """One keep-alive HTTP/1.1 connection; requests are timed around write -> full answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        match = _LENGTH.search(head)
        data = await self.reader.readexactly(int(match.group(1))) if match else b""
        return int(head[9:12]), data

    def close(self) -> None:
        self.writer.close()


def executor_config(
    directory: Path, fx: FakeExchange, port: int, spot: Venue, execution: dict[str, Any]
) -> Path:
    config = {
        "pipeline": "bench-execution",
        "dryRun": False,
        "listen": {"host": "127.0.0.1", "port": port},
        "responseDeadlineSeconds": 10.0,
        "webhook": {
            "auth": "token",
            "secretEnv": "FKS_WEBHOOK_SECRET",
            "maxSignalAgeSeconds": 3600,
        },
        "accounts": [
            {
                "name": "bench",
                "exchange": spot.ccxt_id,
                "environment": "testnet",
                "marketType": spot.market_type,
                "apiKeyEnv": "FKS_FAKE_API_KEY",
                "secretEnv": "FKS_FAKE_SECRET",
                "endpoint": fx.base_url,
                "options": {"enableRateLimit": "false"},
            }
        ],
        "risk": {
            "sizing": {"method": "fixed-notional", "notionalUSD": 10},
            "maxPositionSizeUSD": 1e12,
            "maxOrderSizeUSD": 1e12,
        },
        "rateLimit": {"requestsPerMinute": 1_000_000},
        "state": {"backend": "memory", "journalPath": str(directory / "journal.db")},
        "audit": {"path": str(directory / "audit.jsonl")},
        "execution": execution,
    }
    path = directory / "executor.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def alert(signal_id: str, *, explicit: bool) -> bytes:
    body: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "action": "buy",
        "timestamp": int(time.time()),
        "id": signal_id,
        "passphrase": SECRET,
    }
    if explicit:
        body.update(amount=0.0002, price=68_000)
    return json.dumps(body).encode()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(samples, 0.50) * 1e3,
        "p90": percentile(samples, 0.90) * 1e3,
        "p99": percentile(samples, 0.99) * 1e3,
        "mean": statistics.fmean(samples) * 1e3,
    }


def metric_mean(text: str, name: str) -> float:
    values = {}
    for line in text.splitlines():
        for suffix in ("_sum", "_count"):
            if line.startswith(name + suffix + " "):
                values[suffix] = float(line.split()[-1])
    return values["_sum"] / values["_count"] * 1e3 if values.get("_count") else float("nan")


async def measure(
    fx: FakeExchange, spot: Venue, port: int, orders: int, warmup: int, gap: float, ws: bool
) -> dict[str, Any]:
    async with fx.ccxt_pro(spot.name) if ws else fx.ccxt(spot.name) as ex:
        await ex.load_markets()
        # after the markets (importing ccxt.pro can take seconds): the executor times out
        # a connection whose first request does not come within 10 s (serving.py)
        http = await Http.connect(port)
        tag = uuid.uuid4().hex[:8]
        create = ex.create_order_ws if ws else ex.create_order

        async def direct(i: int) -> None:
            cid = f"d-{tag}-{i}"
            order = await create("BTC/USDT", "market", "buy", 0.0002, None, {"clientOrderId": cid})
            if order.get("status") is None:  # ids only: fetch it to learn it filled
                (order,) = await ex.fetch_canceled_and_closed_orders(
                    "BTC/USDT", None, None, {"orderLinkId": cid}
                )
            assert order["status"] == "closed", order

        def through_executor(explicit: bool) -> Callable[[int], Awaitable[None]]:
            kind = "x" if explicit else "n"

            async def send(i: int) -> None:
                status, data = await http.post(
                    "/webhook/tradingview", alert(f"{kind}-{tag}-{i}", explicit=explicit)
                )
                body = json.loads(data)
                if status != 200 or body["status"] != "executed":
                    raise RuntimeError(f"executor answered {status}: {body}")

            return send

        paths = {
            "direct": direct,
            "executor": through_executor(True),
            "default": through_executor(False),
        }
        samples: dict[str, list[float]] = {name: [] for name in paths}
        requests: dict[str, int] = dict.fromkeys(paths, 0)
        for i in range(-warmup, orders):
            for name, call in paths.items():
                if name != "direct":
                    await asyncio.sleep(gap)  # alerts on one account this far apart
                before = fx.stats()["requests"]
                started = time.perf_counter()
                await call(i + warmup)
                elapsed = time.perf_counter() - started
                if i >= 0:
                    samples[name].append(elapsed)
                    # exchange requests during this call (the executor's background
                    # snapshots, when one falls in the window, count too)
                    requests[name] += fx.stats()["requests"] - before
            if i % 100 == 0 and i >= 0:
                print(f"  {i}/{orders} orders per path", flush=True)
    http.close()
    return {"samples": samples, "requests": {k: v / orders for k, v in requests.items()}}


def run_venue(
    spot: Venue, orders: int, warmup: int, latency_ms: int, gap: float, execution: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """(the samples and exchange requests per order, the executor's /metrics text) on one
    venue, every exchange request delayed by ``latency_ms`` (0: none)."""
    with (
        tempfile.TemporaryDirectory(prefix="fks-bench-execution-") as tmp,
        fake_exchange_process(venue=spot.server) as fx,
    ):
        directory = Path(tmp)
        fx.set_balances({"USDT": 1_000_000_000})
        port = free_port()
        path = executor_config(directory, fx, port, spot, execution)
        env = {
            "FKS_WEBHOOK_SECRET": SECRET,
            "FKS_FAKE_API_KEY": fx.api_key,
            "FKS_FAKE_SECRET": fx.secret,
        }
        proc = ManagedProcess(
            "bench-executor", [str(BIN / "fks-executor"), "--config", str(path)], env=env
        )
        try:
            proc.wait_ready(lambda: http_ok(f"http://127.0.0.1:{port}/ready"), timeout=60)
            if latency_ms:
                fx.add_fault("latency", delayMs=latency_ms, count=1_000_000)
            ws = execution["orderEntry"] == "websocket"
            result = asyncio.run(measure(fx, spot, port, orders, warmup, gap, ws))
            import httpx

            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        finally:
            proc.stop()
    return result, metrics


def report(spot: Venue, result: dict[str, Any], metrics: str, latency_ms: int) -> bool:
    stats = {name: summary(values) for name, values in result["samples"].items()}
    requests = result["requests"]
    print()
    print(f"== {spot.name} (every exchange request delayed {latency_ms} ms)")
    heads = ("p50 ms", "p90 ms", "p99 ms", "mean ms")
    print(f"{'path':<10} " + " ".join(f"{h:>8}" for h in heads) + f" {'req/order':>10}")
    for name, s in stats.items():
        print(
            f"{name:<10} {s['p50']:8.2f} {s['p90']:8.2f} {s['p99']:8.2f} {s['mean']:8.2f} "
            f"{requests[name]:10.2f}"
        )
    webhook = metric_mean(metrics, "fks_webhook_duration_seconds")
    exchange = metric_mean(metrics, "fks_order_duration_seconds")
    print(
        f"inside the executor (means over all alerts): request to answer {webhook:.2f} ms, "
        f"of which planning and exchange calls {exchange:.2f} ms"
    )
    verdict = True
    direct = stats["direct"]["p50"]
    for name in ("executor", "default"):
        ratio = stats[name]["p50"] / direct
        fewer = requests[name] <= requests["direct"] + 0.05
        ok = ratio <= TARGET_RATIO and fewer
        print(
            f"{name}: p50 {ratio:.3f} x direct (target <= {TARGET_RATIO:g}), "
            f"{requests[name]:.2f} exchange requests per order (direct: "
            f"{requests['direct']:.2f}): {'PASS' if ok else 'FAIL'}"
        )
        verdict = verdict and ok
    return verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per path (default 200)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=30,
        help="delay of every exchange request (the fake's latency fault; default 30)",
    )
    parser.add_argument(
        "--gap-ms",
        type=int,
        default=600,
        help="pause before each alert (not timed): alerts on one account at least this far "
        "apart (default 600, past the executor's 0.5 s own-order grace)",
    )
    parser.add_argument(
        "--venues", default="binance-spot,bybit-spot", help="comma-separated spot venues"
    )
    parser.add_argument(
        "--warm-state-seconds",
        type=float,
        default=10.0,
        help="the executor's execution.warmStateMaxAgeSeconds (0: REST reads per order)",
    )
    parser.add_argument(
        "--order-entry", choices=("rest", "websocket"), default="rest", help="execution.orderEntry"
    )
    args = parser.parse_args()
    execution = {
        "warmStateMaxAgeSeconds": args.warm_state_seconds,
        "orderEntry": args.order_entry,
    }
    venues = [venue(name.strip()) for name in args.venues.split(",") if name.strip()]

    print(
        f"bench-execution: {args.orders} orders per path, one at a time, paths interleaved, "
        f"on {', '.join(v.name for v in venues)}"
    )
    verdicts = []
    for spot in venues:
        result, metrics = run_venue(
            spot, args.orders, args.warmup, args.latency_ms, args.gap_ms / 1000, execution
        )
        verdicts.append(report(spot, result, metrics, args.latency_ms))
    print()
    print(
        "(direct: POST order [+ GET closed order]; executor and default: the same, with the "
        "balance, position and ticker kept warm from the venue's streams)"
    )
    verdict = all(verdicts)
    print("RESULT:", "PASS" if verdict else "FAIL")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
