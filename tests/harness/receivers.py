"""Local receivers speaking the APIs the executor's notifications post to (docs/notifications.md):
real HTTP servers on loopback, each in a thread of the test process.

- ``slack``: an incoming webhook. ``POST /services/<T>/<B>/<token>`` ``{"text"}`` -> 200 ``ok``;
  no ``text``: 400 ``no_text``; rate limited: 429 with ``Retry-After``.
- ``discord``: a channel webhook. ``POST /api/webhooks/<id>/<token>`` ``{"content"}`` -> 204;
  empty: 400 ``{"code": 50006}``; rate limited: 429 ``{"retry_after", "global"}`` and
  ``Retry-After``.
- ``telegram``: the Bot API. ``POST /bot<token>/sendMessage`` ``{"chat_id", "text"}`` ->
  ``{"ok": true, "result": {...}}``; a wrong token: 401; an unknown chat: 400; rate limited:
  429 ``{"ok": false, "parameters": {"retry_after"}}``.
- ``webhook``: ``POST /hook/<token>`` with any JSON -> 200.

A receiver's ``secret`` is what the executor's Secret holds (the URL, or the bot token), so a
test can look for it in logs. ``script`` answers the next requests with a scripted status
(``500``, ``503``, ``429`` with a ``retry_after``) before answering normally; ``hang`` holds
every request unanswered for that many seconds (a receiver that accepts and never answers).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Kind = Literal["slack", "discord", "telegram", "webhook"]
KINDS: tuple[Kind, ...] = ("slack", "discord", "telegram", "webhook")
TELEGRAM_CHAT = "-1001234567890"

__all__ = ["KINDS", "TELEGRAM_CHAT", "Kind", "Received", "Receiver", "receiver"]


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    at: float  # time.monotonic()
    path: str
    body: Any
    status: int  # what it answered

    @property
    def text(self) -> str:
        """The message text, wherever this API carries it."""
        if not isinstance(self.body, dict):
            return ""
        return str(self.body.get("text") or self.body.get("content") or "")


@dataclass
class Receiver:
    kind: Kind
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    script: list[tuple[int, float | None]] = field(default_factory=list)
    """Answers for the next requests: (status, retry_after seconds or None)."""
    hang: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def path(self) -> str:
        return {
            "slack": f"/services/T0FKS/B0FKS/{self.token}",
            "discord": f"/api/webhooks/1234567890/{self.token}",
            "telegram": f"/bot{self.token}/sendMessage",
            "webhook": f"/hook/{self.token}",
        }[self.kind]

    @property
    def secret(self) -> str:
        """What the notification's Secret holds: the URL, or (telegram) the bot token."""
        return self.token if self.kind == "telegram" else self.base_url + self.path

    def messages(self) -> list[Received]:
        """Requests answered 2xx (delivered)."""
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            delivered = self.messages()
            if len(delivered) >= count:
                return delivered
            time.sleep(0.05)
        with self.lock:
            got = [(r.status, r.text[:80]) for r in self.received]
        raise TimeoutError(f"{self.kind} receiver: {count} message(s) not delivered; got {got}")

    # --- answering ---------------------------------------------------------------------------

    def answer(self, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
        if path != self.path:
            return self._not_found()
        if scripted is not None:
            status, wait = scripted
            if status == 429:
                return self._rate_limited(wait or 1.0)
            return status, {"content-type": "text/plain"}, b"scripted failure"
        return self._normal(body)

    def _not_found(self) -> tuple[int, dict[str, str], bytes]:
        if self.kind == "telegram":
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if self.kind == "slack":
            return 404, {"content-type": "text/plain"}, b"no_service"
        return _json(404, {"message": "Unknown Webhook", "code": 10015})

    def _rate_limited(self, wait: float) -> tuple[int, dict[str, str], bytes]:
        if self.kind == "telegram":  # no Retry-After header: the body says it
            return _json(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait:g}",
                    "parameters": {"retry_after": wait},
                },
            )
        if self.kind == "discord":
            status, headers, payload = _json(
                429,
                {"message": "You are being rate limited.", "retry_after": wait, "global": False},
            )
            return status, {**headers, "retry-after": f"{wait:g}"}, payload
        return 429, {"content-type": "text/plain", "retry-after": f"{wait:g}"}, b"rate_limited"

    def _normal(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        data = body if isinstance(body, dict) else {}
        if self.kind == "slack":
            if not data.get("text"):
                return 400, {"content-type": "text/plain"}, b"no_text"
            return 200, {"content-type": "text/plain"}, b"ok"
        if self.kind == "discord":
            if not data.get("content"):
                return _json(400, {"message": "Cannot send an empty message", "code": 50006})
            return 204, {}, b""
        if self.kind == "telegram":
            if str(data.get("chat_id")) != TELEGRAM_CHAT:
                return _json(
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                )
            if not data.get("text"):
                return _json(
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: text is empty"},
                )
            result = {"message_id": 1, "chat": {"id": int(TELEGRAM_CHAT)}, "text": data["text"]}
            return _json(200, {"ok": True, "result": result})
        return _json(200, {"received": True})


def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if rx.hang:
                time.sleep(rx.hang)
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            status, headers, payload = rx.answer(self.path, body)
            with rx.lock:
                rx.received.append(Received(time.monotonic(), self.path, body, status))
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up waiting (a hanging receiver's purpose)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextlib.contextmanager
def receiver(kind: Kind, **options: Any) -> Iterator[Receiver]:
    """A receiver on a free loopback port, stopped on exit."""
    rx = Receiver(kind, **options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rx))
    server.daemon_threads = True
    rx.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name=f"rx-{kind}", daemon=True)
    thread.start()
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
