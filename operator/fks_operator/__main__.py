"""``fks-operator``: run the operator (settings from ``FKS_OPERATOR_*``, see ``--help``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

import kopf
import uvloop
from kopf._core.engines.indexing import OperatorIndexers  # kopf.operator(indexers=...)
from kopf._core.engines.peering import Identity  # the type of kopf.operator(identity=...)
from lightkube.config.kubeconfig import SingleConfig

from fks_operator import __version__
from fks_operator.accounts import ccxt_catalog
from fks_operator.controller import Controller
from fks_operator.credentials import load_config
from fks_operator.errors import SettingsError
from fks_operator.handlers import build_registry, configure
from fks_operator.kube import KubeApi
from fks_operator.metrics import Metrics
from fks_operator.settings import OperatorSettings

log = logging.getLogger("fks_operator")

DESCRIPTION = """\
Reconcile ExecutionPipelines into executor workloads and keep ExchangeAccount status current.

Run exactly one replica (Deployment strategy Recreate): the operator does not elect a leader.
Kubernetes credentials: the pod's ServiceAccount in a cluster, else $KUBECONFIG or
~/.kube/config. Everything else comes from the environment:
"""

EPILOG = """\
environment (default):
  FKS_OPERATOR_EXECUTOR_IMAGE      executor image when spec.image is empty (fks-executor:{version})
  FKS_OPERATOR_IMAGE_PULL_POLICY   Always | IfNotPresent | Never (IfNotPresent)
  FKS_OPERATOR_NAMESPACES          comma-separated namespaces to watch (empty: all namespaces)
  FKS_OPERATOR_LOG_LEVEL           DEBUG | INFO | WARNING | ERROR | CRITICAL (INFO)
  FKS_OPERATOR_LOG_FORMAT          plain | json (plain)
  FKS_OPERATOR_FIELD_MANAGER       server-side-apply field manager of the children (fks-operator)
  FKS_OPERATOR_EXECUTOR_UID        numeric user/group of executor pods, not 0 (65532)
  FKS_OPERATOR_EXECUTOR_RESOURCES  JSON container resources for pipelines without spec.resources
  FKS_OPERATOR_WORKERS             objects reconciled concurrently, 1-64 (4)
  FKS_OPERATOR_RESYNC_SECONDS      full re-reconcile period, 0 = never (600)
  FKS_OPERATOR_METRICS_PORT        Prometheus metrics at :PORT/metrics (9090)
  FKS_OPERATOR_HEALTH_PORT         liveness probe at :PORT/healthz (8080)

Exit status: 0 after SIGTERM/SIGINT, 2 on bad settings or missing credentials, 1 on a crash.
Docs: docs/operator.md
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fks-operator",
        description=DESCRIPTION,
        epilog=EPILOG.format(version=__version__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fks-operator {__version__}")
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the settings and find the Kubernetes credentials, print a summary "
        "(no secrets) and exit",
    )
    return parser


def _configure_logging(settings: OperatorSettings) -> None:
    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.PLAIN
    kopf.configure(debug=settings.log_level == "DEBUG", log_format=log_format)
    logging.getLogger().setLevel(settings.logging_level)
    quiet = max(settings.logging_level, logging.WARNING)
    # kopf logs every handler call ("Handler 'secrets' succeeded") at INFO: DEBUG only.
    # So is every liveness probe ("Activity 'reconcile' succeeded").
    if settings.logging_level > logging.DEBUG:
        logging.getLogger("kopf.objects").setLevel(quiet)
        logging.getLogger("kopf.activities.probe").setLevel(quiet)
    for noisy in ("httpx", "httpx2", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(quiet)


async def run(
    settings: OperatorSettings,
    config: SingleConfig,
    *,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the operator until ``stop`` is set (or the task is cancelled)."""
    metrics = Metrics()
    metrics.serve(settings.metrics_port)
    api = KubeApi(config, field_manager=settings.field_manager, observer=metrics)
    catalog = ccxt_catalog()
    # The indices are the reconcile's watch caches: created here, so the controller can read
    # them outside kopf's handlers (docs/operator.md, "Watch caches").
    indexers = OperatorIndexers()
    controller = Controller(
        api, settings, catalog=catalog, metrics=metrics, indices=indexers.indices
    )
    kopf_settings = kopf.OperatorSettings()
    configure(kopf_settings)
    registry = build_registry(controller, config)
    loop = asyncio.create_task(controller.run(settings.workers, settings.resync_seconds))
    stop = stop if stop is not None else asyncio.Event()

    @kopf.on.cleanup(id="stop-reconciling", registry=registry)
    async def stop_reconciling(**_: object) -> None:
        # On SIGTERM/SIGINT kopf stops through its own signal handlers, which replace _serve's,
        # so ``stop`` is not set; kopf's shutdown would then give its waiter on ``stop``, and
        # every task started after kopf (the workers, idle on the queue), 5 s to end by
        # themselves. Setting the flag and ending the workers here makes the exit prompt. An
        # interrupted reconcile is simply done again by the next operator (level-based).
        stop.set()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop

    scope = ", ".join(settings.namespaces) or "all namespaces"
    log.info(
        "fks-operator %s starting: watching %s; metrics :%d/metrics, liveness :%d/healthz",
        __version__,
        scope,
        settings.metrics_port,
        settings.health_port,
    )
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf_settings,
            indexers=indexers,
            standalone=True,
            identity=_identity(),
            clusterwide=not settings.namespaces,
            namespaces=list(settings.namespaces),
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
            stop_flag=stop,
        )
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await loop
        await api.close()
        log.info("fks-operator stopped")


def _identity() -> Identity:
    """kopf's name for this instance (logs): the pod name when the chart passes it as POD_ID,
    else the host name. Given explicitly, because kopf's own guess asks the passwd database for
    the user name, which fails for a numeric uid without an entry (restricted containers)."""
    return Identity(os.environ.get("POD_ID") or f"fks-operator@{socket.gethostname()}")


def _describe(settings: OperatorSettings, config: SingleConfig) -> str:
    return "\n".join(
        [
            f"fks-operator {__version__}: settings OK",
            f"  API server:      {config.cluster.server} (context {config.context_name})",
            f"  namespaces:      {', '.join(settings.namespaces) or 'all'}",
            f"  executor image:  {settings.executor_image}",
            f"  field manager:   {settings.field_manager}",
            f"  workers:         {settings.workers}, resync every {settings.resync_seconds}s",
            f"  ports:           metrics {settings.metrics_port}, health {settings.health_port}",
        ]
    )


async def _serve(settings: OperatorSettings, config: SingleConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await run(settings, config, stop=stop)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = OperatorSettings.from_env(os.environ)
        config = load_config()
    except SettingsError as exc:
        sys.stderr.write(f"fks-operator: {exc}\n")
        sys.exit(2)
    if args.check:
        sys.stdout.write(_describe(settings, config) + "\n")
        return
    _configure_logging(settings)
    try:
        # uvloop: the event loop, its sockets and TLS in C; the one loop runs kopf's watches and
        # every API request of the reconcile loop (docs/operator.md, "How it runs").
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(_serve(settings, config))
    except OSError as exc:  # a port in use, most likely
        sys.stderr.write(f"fks-operator: cannot start: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
