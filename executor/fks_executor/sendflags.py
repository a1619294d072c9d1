"""The flags of ``fks-executor send`` (docs/send.md); ``fks_executor.sendcli`` runs them."""

from __future__ import annotations

import argparse
import math

__all__ = ["DEFAULT_PATH", "DEFAULT_SECRET_ENV", "DEFAULT_URL", "parser"]

DEFAULT_URL = "http://127.0.0.1:8000/webhook/tradingview"
DEFAULT_PATH = "/webhook/tradingview"
DEFAULT_SECRET_ENV = "FKS_WEBHOOK_SECRET"  # noqa: S105 (a variable name)


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
    alert.add_argument(
        "--account",
        help="one of the pipeline's accounts, or '*' for every one (default: its default)",
    )
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
