"""``fks-executor send``: build one alert from flags and post it to an executor (docs/send.md).

For testing a setup end to end: the alert is what TradingView (``--auth token``: the secret as
``passphrase`` in a ``text/plain`` body) or a signing sender (``--auth hmac``, the default:
``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>``) would post.

The secret comes from an environment variable (``--secret-env``, default ``FKS_WEBHOOK_SECRET``)
or a file (``--secret-file``); ``--secret VALUE`` works but warns (it lands in the shell history
and the process list). It is never printed: ``--dry-print`` shows the request with a placeholder
and reads no secret at all.

Exit status: 0 when the executor answered 2xx, 1 for any other answer, 2 for bad flags or a
missing secret, 3 when no answer came (connection refused, timeout, TLS...).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import httpx

from fks_executor.auth import sign
from fks_executor.sendflags import DEFAULT_PATH, parser
from fks_executor.signals import check_symbol, parse_action, parse_timestamp

__all__ = [
    "EXIT_ANSWER_NOT_OK",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "SendRequest",
    "UsageError",
    "build_alert",
    "build_request",
    "main",
    "run",
    "webhook_url",
]

EXIT_OK = 0
EXIT_ANSWER_NOT_OK = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

SIGNATURE_HEADER = "X-Webhook-Signature"
MAX_ID_LENGTH = 64
_PASSPHRASE_PLACEHOLDER = "<the secret from {source}>"  # noqa: S105 (shown, never sent)
_SIGNATURE_PLACEHOLDER = "sha256=<HMAC-SHA256 of the body with the secret from {source}>"


class UsageError(ValueError):
    """A flag value that cannot make a valid alert or request (exit status 2)."""


@dataclass(frozen=True)
class SendRequest:
    """One prepared webhook request: exactly the bytes and headers that will be sent."""

    url: str
    body: bytes
    headers: dict[str, str]


# --- pure parts ------------------------------------------------------------------------------


def webhook_url(url: str) -> str:
    """``http(s)://host[:port][/path]``; a URL without a path gets ``/webhook/tradingview``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url: expected http(s)://HOST[:PORT][/PATH], got {url!r}")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"--url: bad port in {url!r}") from None
    path = parts.path if parts.path not in ("", "/") else DEFAULT_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _timestamp(value: str | None, now: float) -> int | float | str:
    if value is None or value.strip().lower() == "now":
        return int(now)
    text = value.strip()
    try:
        parse_timestamp(text)
    except ValueError as exc:
        raise UsageError(f"--timestamp: {exc}") from None
    try:
        number = float(text)
    except ValueError:
        return text  # ISO 8601, sent as written
    return int(number) if number.is_integer() else number


def build_alert(args: argparse.Namespace, now: float) -> dict[str, Any]:
    """The alert's JSON object from the parsed flags (no secret in it). ``UsageError`` on bad
    values, checked with the executor's own parsers so a typo fails before anything is sent."""
    try:
        check_symbol(args.symbol)
    except ValueError as exc:
        raise UsageError(f"--symbol: {exc}") from None
    try:
        parse_action(args.action)
    except ValueError as exc:
        raise UsageError(f"--action: {exc}") from None
    if args.id is not None and not 0 < len(args.id) <= MAX_ID_LENGTH:
        raise UsageError(f"--id: 1 to {MAX_ID_LENGTH} characters")
    alert: dict[str, Any] = {"symbol": args.symbol, "action": args.action.strip().lower()}
    optional = (
        ("price", args.price),
        ("order_type", args.order_type),
        ("amount", args.amount),
        ("size_usd", args.size_usd),
        ("stop_loss", args.stop_loss),
        ("take_profit", args.take_profit),
        ("atr", args.atr),
        ("confidence", args.confidence),
        ("account", args.account),
        ("id", args.id),
    )
    alert.update({key: value for key, value in optional if value is not None})
    alert["timestamp"] = _timestamp(args.timestamp, now)
    return alert


def build_request(
    url: str, alert: Mapping[str, Any], auth: str, secret: str | None, secret_source: str
) -> SendRequest:
    """The request as sent (``secret`` given) or as shown by ``--dry-print`` (``None``:
    placeholders where the secret or the signature would be)."""
    if auth == "token":
        passphrase = (
            secret if secret is not None else _PASSPHRASE_PLACEHOLDER.format(source=secret_source)
        )
        body = _dumps({**alert, "passphrase": passphrase})
        # TradingView posts alert messages as text/plain; the executor parses the raw body.
        return SendRequest(url, body, {"Content-Type": "text/plain; charset=utf-8"})
    body = _dumps(dict(alert))
    signature = (
        f"sha256={sign(body, secret)}"
        if secret is not None
        else _SIGNATURE_PLACEHOLDER.format(source=secret_source)
    )
    return SendRequest(url, body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature})


def _dumps(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


# --- I/O -------------------------------------------------------------------------------------


def _secret(args: argparse.Namespace, environ: Mapping[str, str], stderr: TextIO) -> str:
    if args.secret is not None:
        stderr.write(
            "send: warning: --secret puts the secret in your shell history and the process "
            "list; prefer --secret-env or --secret-file\n"
        )
        value: str = args.secret
        if not value:
            raise UsageError("--secret: empty")
        return value
    if args.secret_file is not None:
        try:
            text = Path(args.secret_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--secret-file {args.secret_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"--secret-file {args.secret_file}: not UTF-8 text") from None
        value = text.removesuffix("\n").removesuffix("\r")
        if not value:
            raise UsageError(f"--secret-file {args.secret_file}: empty")
        return value
    value = environ.get(args.secret_env, "")
    if not value:
        raise UsageError(
            f"no secret: ${args.secret_env} is not set (export it, or use --secret-env VAR or "
            "--secret-file PATH)"
        )
    return value


def _secret_source(args: argparse.Namespace) -> str:
    if args.secret is not None:
        return "--secret"
    if args.secret_file is not None:
        return str(args.secret_file)
    return f"${args.secret_env}"


def _root_oserror(exc: BaseException) -> OSError | None:
    """The socket error under httpx's wrappers (anyio aggregates one per address tried)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = current.__cause__ or current.__context__
    return None


def _describe_transport_error(url: str, exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer from {url} within {timeout:g}s"
    root = _root_oserror(exc)
    if isinstance(root, ConnectionRefusedError):
        return f"cannot connect to {url}: connection refused (is the executor running?)"
    if isinstance(exc, httpx.ConnectError):
        reason = root.strerror if root is not None and root.strerror else str(exc)
        return f"cannot connect to {url}: {reason or type(exc).__name__}"
    return f"{url}: {type(exc).__name__}: {exc}"


async def _post(
    request: SendRequest, timeout_s: float, transport: httpx.AsyncBaseTransport | None
) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout_s, trust_env=False, follow_redirects=False
    ) as client:
        return await client.post(request.url, content=request.body, headers=request.headers)


def _print_request(request: SendRequest, out: TextIO) -> None:
    out.write(f"POST {request.url}\n")
    for name, value in request.headers.items():
        out.write(f"{name}: {value}\n")
    out.write("\n" + request.body.decode() + "\n")


def _summary(response: httpx.Response) -> tuple[str, Any]:
    """One human line for stderr, and the parsed answer (None when it is not JSON)."""
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code} (not a JSON answer)", None
    line = f"HTTP {response.status_code}"
    if isinstance(answer, dict):
        if answer.get("status"):
            line += f" {answer['status']}"
        if answer.get("reason"):
            line += f" / {answer['reason']}"
        if answer.get("detail"):
            line += f": {answer['detail']}"
    return line, answer


async def run(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    now: float | None = None,
) -> int:
    """The whole command; returns the exit status. ``transport`` lets tests talk ASGI."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser().parse_args(list(argv))
    except SystemExit as exc:  # argparse printed the usage error (or --help)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        url = webhook_url(args.url)
        alert = build_alert(args, time.time() if now is None else now)
        source = _secret_source(args)
        if args.dry_print:
            _print_request(build_request(url, alert, args.auth, None, source), out)
            return EXIT_OK
        request = build_request(url, alert, args.auth, _secret(args, env, err), source)
    except UsageError as exc:
        err.write(f"send: {exc}\n")
        return EXIT_USAGE
    try:
        response = await _post(request, args.timeout, transport)
    except httpx.TransportError as exc:
        err.write(f"send: {_describe_transport_error(url, exc, args.timeout)}\n")
        return EXIT_UNREACHABLE
    summary, answer = _summary(response)
    if answer is None:
        err.write(f"send: {summary}: {response.text[:500]}\n")
    else:
        out.write(json.dumps(answer) + "\n")
        err.write(f"send: {summary}\n")
    return EXIT_OK if response.is_success else EXIT_ANSWER_NOT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return 130
