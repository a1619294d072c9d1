"""``fks-executor``: load and check the config, then serve it (``fks_executor.serving``).

Config: ``--config PATH``, else ``$FKS_CONFIG``, else the embedded default (a local dry-run on
127.0.0.1:8000; see docs/executor.md). Every config problem — file, key, enum, a secret env var
that is not set — is one line on stderr (``config error: <key>: <problem>``) and exit code 2,
before any port is opened. ``--check`` validates the file alone (no env needed) and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from fks_executor.auth import secret_weakness
from fks_executor.config import (
    ConfigError,
    ExecutorConfig,
    default_config,
    load_config,
    resolve_secrets,
)

EXIT_CONFIG = 2


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fks-executor",
        description="Receive trading alerts and execute them (docs/executor.md).",
        epilog="fks-executor send --help: post one test alert to an executor (docs/send.md)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="YAML config (docs/configuration.md); default: $FKS_CONFIG, else the embedded "
        "dry-run default",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the config file (keys, types, enums) and exit; secrets are not read",
    )
    return parser.parse_args(argv)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"config error: {message}\n")
    sys.exit(EXIT_CONFIG)


def _load(path: str | None) -> tuple[ExecutorConfig, str]:
    if path:
        return load_config(path), path
    return default_config(), "(embedded default)"


def main(argv: Sequence[str] | None = None) -> None:
    rest = list(sys.argv[1:] if argv is None else argv)
    if rest[:1] == ["send"]:  # `fks-executor send ...`: post one alert (fks_executor.sendcli)
        from fks_executor.sendcli import main as send

        sys.exit(send(rest[1:]))
    args = _parse_args(argv)
    path = args.config or os.environ.get("FKS_CONFIG") or None
    try:
        config, source = _load(path)
        if args.check:
            sys.stdout.write(
                f"config ok: {source} (pipeline {config.pipeline}, mode {config.mode})\n"
            )
            return
        secrets = resolve_secrets(config)
    except ConfigError as exc:
        _fail(str(exc))
    weakness = secret_weakness(secrets.webhook_secret.get_secret_value())
    if weakness is not None:
        _fail(f"webhook.secretEnv: the secret in {config.webhook.secret_env} {weakness}")

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log = logging.getLogger("fks_executor")

    # Heavy imports only once the config is known to be good. ccxt's exchange classes are
    # imported one at a time, not all ~100 of them (fks_executor/ccxt_imports.py): this must
    # run before anything imports ccxt.
    from fks_executor.ccxt_imports import lazy_packages

    lazy_packages()
    import prometheus_client

    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # documented names only

    from fks_executor.app import create_app
    from fks_executor.runtime import SHUTDOWN_GRACE_SECONDS
    from fks_executor.serving import serve

    try:
        app = create_app(config, secrets)
    except ConfigError as exc:
        _fail(str(exc))
    except OSError as exc:  # e.g. the audit file cannot be opened
        _fail(f"audit.path: cannot open {config.audit.path!r}: {exc.strerror}")

    log.info(
        "pipeline %s, mode %s, config %s, auth %s, state %s, audit %s; listening on %s:%d",
        config.pipeline,
        config.mode,
        source,
        config.webhook.auth,
        config.state.backend,
        config.audit.path or "stdout",
        config.listen.host,
        config.listen.port,
    )
    serve(
        app,
        host=config.listen.host,
        port=config.listen.port,
        graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


if __name__ == "__main__":
    main()
