"""A minimal paced HTTP/1.1 client for bench/intake.py's steady-rate latency measurement.

Open loop: request ``i`` is due at ``start + i / rate`` and its latency is measured from that
due time, so a stall in the server shows in the figures instead of slowing the client down
(no coordinated omission). Keep-alive connections from a small pool, requests pre-rendered,
no HTTP library in the timed path: the client adds microseconds, not milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable

_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        match = _LENGTH.search(head)
        body = await self.reader.readexactly(int(match.group(1))) if match else b""
        return int(head[9:12]), body


def render(path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def paced(
    host: str,
    port: int,
    rate: float,
    seconds: float,
    make_body: Callable[[int], bytes],
    *,
    path: str = "/webhook/tradingview",
    connections: int = 8,
    expect: Callable[[int, bytes], bool] = lambda status, body: status == 200,
) -> list[float]:
    """Latencies in ms of ``rate * seconds`` requests sent at a steady ``rate``."""
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Conn(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    failures: list[tuple[int, bytes]] = []

    async def one(request: bytes, due: float) -> None:
        conn = await pool.get()
        try:
            status, body = await conn.exchange(request)
        finally:
            pool.put_nowait(conn)
        latencies.append((time.perf_counter() - due) * 1000)
        if not expect(status, body):
            failures.append((status, body))

    count = int(rate * seconds)
    requests = [render(path, make_body(i)) for i in range(count)]
    tasks = []
    start = time.perf_counter() + 0.05
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        conn = pool.get_nowait()
        conn.writer.close()
    if failures:
        status, body = failures[0]
        raise RuntimeError(f"{len(failures)} unexpected answers, e.g. {status} {body[:200]!r}")
    return latencies


def dry_run_answer(status: int, body: bytes) -> bool:
    return status == 200 and json.loads(body).get("status") == "dry_run"
