"""A real redis-server (Debian's package) on a free loopback port, for integration tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from tests.harness.procs import ManagedProcess, free_port


@dataclass(frozen=True)
class RedisServer:
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redis_missing_reason() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (make system-deps installs Debian's redis-server)"
    return None


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fks-redis-") as data:
        proc = ManagedProcess(
            "redis",
            [
                "redis-server",
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", data,
            ],
        )  # fmt: skip
        try:
            proc.wait_ready(lambda: _pong(port), timeout=15)
            yield RedisServer(port=port, process=proc)
        finally:
            proc.stop()
