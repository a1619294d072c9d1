"""How the executor is served: uvicorn (one worker, uvloop, httptools) and the limits a
connection meets before any request reaches the app (docs/executor.md, "Connections").

- **No proxy headers at the server.** uvicorn would rewrite the client address from
  ``X-Forwarded-For`` for peers in ``FORWARDED_ALLOW_IPS`` (127.0.0.1 unless set), so behind a
  sidecar or ``kubectl port-forward`` — a loopback peer — anyone could pick their source
  address. Only ``webhook.trustedProxies`` decides whom to believe (``fks_executor.sources``).
- **Header block at most ``MAX_HEADER_BYTES``** (request line and headers): past it the answer
  is ``431 headers_too_large`` and the connection is closed. httptools sets no limit of its own
  and buffers a header value whole, so without this one header line could take any amount of
  memory before authentication.
- **Header block within ``HEADER_TIMEOUT_SECONDS``** of the connection opening (or of the
  request's first byte on a kept-alive connection): else ``408 header_timeout`` and the
  connection is closed. uvicorn times out only idle kept-alive connections, so a client that
  never finishes its headers would hold its connection (and what it sent) for good. The body
  then has ``fks_executor.intake.BODY_TIMEOUT_SECONDS`` of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "HEADER_TIMEOUT_SECONDS",
    "MAX_HEADER_BYTES",
    "SERVER_REASONS",
    "GuardedHttpProtocol",
    "serve",
]

#: Request line plus headers, in bytes (as Node.js allows; TradingView sends well under 2 KiB).
MAX_HEADER_BYTES = 16 * 1024
#: How long a request's line and headers may take to arrive.
HEADER_TIMEOUT_SECONDS = 10.0


def _refusal(status: int, phrase: str, reason: str) -> bytes:
    body = orjson.dumps({"status": "rejected", "reason": reason, "signal_id": None, "order": None})
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


#: The reasons the server answers with itself, before the app (docs/troubleshooting.md).
SERVER_REASONS = ("headers_too_large", "header_timeout")
_TOO_LARGE = _refusal(431, "Request Header Fields Too Large", SERVER_REASONS[0])
_TIMED_OUT = _refusal(408, "Request Timeout", SERVER_REASONS[1])


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size and a time limit on each header block.

    Bytes are counted as they are fed to the parser while a header block is incomplete, so the
    parser never holds more than ``MAX_HEADER_BYTES`` plus one socket read (256 KiB at most)
    of one request's headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_headers = True  # a new connection waits for a request line
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_headers or self.transport.is_closing():
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse(_TOO_LARGE)

    # httptools parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _timed_out(self) -> None:
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            self._refuse(_TIMED_OUT)

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self._in_headers = False
        self.transport.write(answer)
        self.transport.close()


def serve(app: Any, *, host: str, port: int, graceful_shutdown: int) -> None:
    """Run ``app`` until SIGINT/SIGTERM."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=GuardedHttpProtocol,
        ws="none",  # no websocket endpoint: nothing of uvicorn's websocket support is loaded
        proxy_headers=False,  # see the module docstring: webhook.trustedProxies alone decides
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=graceful_shutdown,
    )
