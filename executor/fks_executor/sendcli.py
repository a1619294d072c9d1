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
import math
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

DEFAULT_URL = "http://127.0.0.1:8000/webhook/tradingview"
DEFAULT_PATH = "/webhook/tradingview"
DEFAULT_SECRET_ENV = "FKS_WEBHOOK_SECRET"  # noqa: S105 (a variable name)
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


# --- flags -----------------------------------------------------------------------------------


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return int(value) if value.is_integer() and "." not in text else value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    value = _positive(text)
    return float(value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fks-executor send",
        description="Build one alert from flags and post it to an executor's webhook, signed "
        "(--auth hmac) or with the passphrase in the body like TradingView (--auth token). "
        "Prints the answer JSON; exit 0 on 2xx, 1 on another answer, 2 on bad flags or no "
        "secret, 3 when the executor cannot be reached. Docs: docs/send.md",
    )
    p.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the webhook URL; without a path {DEFAULT_PATH} is added (default {DEFAULT_URL})",
    )
    alert = p.add_argument_group("the alert")
    alert.add_argument("--symbol", required=True, help="e.g. BTC/USDT, BTCUSDT, BINANCE:BTCUSDT")
    alert.add_argument(
        "--action", required=True, help="buy, sell, close (or long, short, exit, flat)"
    )
    alert.add_argument("--price", type=_positive, help="limit or reference price")
    alert.add_argument("--order-type", choices=("market", "limit"), help="default: market")
    size = alert.add_mutually_exclusive_group()
    size.add_argument("--amount", type=_positive, help="explicit base amount (skips sizing)")
    size.add_argument("--size-usd", type=_positive, help="explicit notional in USD (skips sizing)")
    alert.add_argument("--stop-loss", type=_positive, help="stop-loss price")
    alert.add_argument("--take-profit", type=_positive, help="take-profit price")
    alert.add_argument("--atr", type=_positive, help="ATR, for volatility sizing")
    alert.add_argument("--confidence", type=_fraction, help="0..1 (executor default 1.0)")
    alert.add_argument("--account", help="one of the pipeline's accounts (default: its default)")
    alert.add_argument(
        "--id",
        help="idempotency key, at most 64 characters (default: the executor hashes the body; "
        "the same id sent twice is answered 'duplicate')",
    )
    alert.add_argument(
        "--timestamp",
        help="unix seconds, unix milliseconds or ISO 8601 (default: now)",
    )
    auth = p.add_argument_group("authentication")
    auth.add_argument(
        "--auth",
        choices=("hmac", "token"),
        default="hmac",
        help="hmac: sign the body (X-Webhook-Signature; the secret never travels); token: put "
        "the secret in the body as 'passphrase' and post text/plain, as TradingView does "
        "(default hmac)",
    )
    source = auth.add_mutually_exclusive_group()
    source.add_argument(
        "--secret-env",
        metavar="VAR",
        default=DEFAULT_SECRET_ENV,
        help=f"environment variable holding the webhook secret (default {DEFAULT_SECRET_ENV})",
    )
    source.add_argument(
        "--secret-file", metavar="PATH", help="file holding the secret (one trailing newline ok)"
    )
    source.add_argument(
        "--secret",
        metavar="VALUE",
        help="the secret itself (discouraged: shell history, process list; a warning is printed)",
    )
    p.add_argument(
        "--dry-print",
        action="store_true",
        help="print the request (placeholders instead of the secret and signature) and exit "
        "without sending or reading the secret",
    )
    p.add_argument(
        "--timeout", type=_seconds, default=10.0, help="seconds to wait for the answer (10)"
    )
    return p


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
