"""``fks-fake-exchange``: run the fake exchange (Binance or Bybit V5 venue) on a loopback port."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from aiohttp import web

from fks_fake_exchange import __version__
from fks_fake_exchange.app import VENUES, create_app
from fks_fake_exchange.config import (
    ApiKeyConfig,
    ConfigError,
    ExchangeConfig,
    config_from_mapping,
    load_config,
    seed_markets,
)

log = logging.getLogger("fks_fake_exchange")
SHUTDOWN_TIMEOUT_S = 1.0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fks-fake-exchange",
        description=(
            "A local exchange for tests, demos and benchmarks: Binance (spot /api/v3 and USD-M "
            "futures /fapi, the default) or Bybit V5 (--venue bybit: spot and linear USDT "
            "perpetuals under /v5, unified account). Point ccxt's binance or bybit at "
            "http://HOST:PORT. Control API under /_fake/ (see docs/fake-exchange.md)."
        ),
    )
    parser.add_argument(
        "--venue",
        choices=VENUES,
        default="binance",
        help="which exchange's API to serve (default binance)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8765, help="port to bind, 0 picks a free one (default 8765)"
    )
    parser.add_argument(
        "--config", type=Path, help="YAML or JSON config file (markets, balances, keys)"
    )
    parser.add_argument(
        "--seed-markets",
        metavar="SPEC",
        help="replace the markets: comma-separated BASE/QUOTE[=PRICE], "
        "e.g. BTC/USDT=68000,DOGE/USDT=0.15",
    )
    parser.add_argument("--api-key", help="accept only this API key (with --secret)")
    parser.add_argument("--secret", help="the secret for --api-key")
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective config as YAML and exit"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request line")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def effective_config(args: argparse.Namespace) -> ExchangeConfig:
    config = load_config(args.config) if args.config is not None else ExchangeConfig()
    if args.seed_markets is not None:
        config = seed_markets(config, args.seed_markets)
    if (args.api_key is None) != (args.secret is None):
        raise ConfigError("--api-key and --secret go together: give both or neither")
    if args.api_key is not None:
        data = config.model_dump()
        data["apiKeys"] = [ApiKeyConfig(key=args.api_key, secret=args.secret).model_dump()]
        config = config_from_mapping(data, "--api-key/--secret")
    return config


def printable(config: ExchangeConfig) -> str:
    data = config.model_dump(mode="json")
    for key in data["apiKeys"]:
        key["secret"] = "***"  # noqa: S105 - masking, not a credential
    return yaml.safe_dump(data, sort_keys=False)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(app: web.Application, host: str, port: int, access_log: bool) -> None:
    runner = web.AppRunner(
        app,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    bound = port
    for address in runner.addresses:  # the port actually bound (differs from 0 with --port 0)
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    shown_host = f"[{host}]" if ":" in host else host
    sys.stdout.write(f"fks-fake-exchange listening on http://{shown_host}:{bound}\n")
    sys.stdout.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = effective_config(args)
    except ConfigError as error:
        sys.stderr.write(f"fks-fake-exchange: error: {error}\n")
        return 2
    if args.print_config:
        sys.stdout.write(printable(config))
        return 0
    if not _is_loopback(args.host):
        log.warning(
            "listening on %s, not loopback: the exchange API is reachable from the network "
            "(the control API still answers loopback clients only)",
            args.host,
        )
    try:
        app = create_app(config, venue=args.venue)
        asyncio.run(serve(app, args.host, args.port, args.access_log))
    except ConfigError as error:
        sys.stderr.write(f"fks-fake-exchange: error: {error}\n")
        return 1
    except KeyboardInterrupt:  # pragma: no cover - signals are handled inside serve()
        return 0
    return 0
