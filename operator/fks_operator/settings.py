"""Operator settings, read once at start-up from ``FKS_OPERATOR_*`` environment variables.

Every field documents the variable it comes from and its default. Bad values stop the operator at
start-up with a :class:`~fks_operator.errors.SettingsError` naming the variable.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fks_operator import __version__
from fks_operator.errors import SettingsError

PREFIX = "FKS_OPERATOR_"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_LOG_FORMATS = ("plain", "json")


def _default_resources() -> dict[str, dict[str, str]]:
    return {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}


@dataclass(frozen=True)
class OperatorSettings:
    """What the operator needs to know that no custom resource tells it."""

    executor_image: str = f"fks-executor:{__version__}"
    """``FKS_OPERATOR_EXECUTOR_IMAGE``: the executor image for pipelines whose ``spec.image`` is
    empty. Its entrypoint must be ``fks-executor`` (the Deployment passes ``--config``)."""

    image_pull_policy: str = "IfNotPresent"
    """``FKS_OPERATOR_IMAGE_PULL_POLICY``: Always, IfNotPresent or Never, for executor pods."""

    namespaces: tuple[str, ...] = ()
    """``FKS_OPERATOR_NAMESPACES``: comma-separated namespaces to watch; empty watches all."""

    log_level: str = "INFO"
    """``FKS_OPERATOR_LOG_LEVEL``: DEBUG, INFO, WARNING, ERROR or CRITICAL."""

    field_manager: str = "fks-operator"
    """``FKS_OPERATOR_FIELD_MANAGER``: the server-side-apply field manager of every child."""

    executor_uid: int = 65532
    """``FKS_OPERATOR_EXECUTOR_UID``: numeric user (and group) the executor runs as; not 0."""

    executor_resources: Mapping[str, Mapping[str, str]] = field(default_factory=_default_resources)
    """``FKS_OPERATOR_EXECUTOR_RESOURCES``: JSON container resources for pipelines without
    ``spec.resources``; default requests cpu 100m / memory 128Mi, limit memory 512Mi."""

    metrics_port: int = 9090
    """``FKS_OPERATOR_METRICS_PORT``: port of the operator's own Prometheus metrics."""

    health_port: int = 8080
    """``FKS_OPERATOR_HEALTH_PORT``: port of the operator's liveness endpoint (/healthz)."""

    log_format: str = "plain"
    """``FKS_OPERATOR_LOG_FORMAT``: ``plain`` (one line per message) or ``json`` (one JSON
    object per line, for log shippers)."""

    workers: int = 4
    """``FKS_OPERATOR_WORKERS``: objects reconciled concurrently (1-64)."""

    resync_seconds: int = 600
    """``FKS_OPERATOR_RESYNC_SECONDS``: every this many seconds every object is reconciled
    again and every child re-applied, whatever the watches said (0: never)."""

    futures_poll_seconds: int = 60
    """``FKS_OPERATOR_FUTURES_POLL_SECONDS``: how often an ExchangeAccount with
    ``spec.futures`` asks its executors' ``/ready`` for settings conflicts (its
    ``FuturesSettingsApplied`` condition; 0: only when the account is reconciled anyway)."""

    executor_url: str = "http://{name}.{namespace}.svc:8000"
    """``FKS_OPERATOR_EXECUTOR_URL``: where a pipeline's executors answer ``/ready``;
    ``{name}`` is the executor Service, ``{namespace}`` the pipeline's namespace."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OperatorSettings:
        """Settings from an environment mapping (usually ``os.environ``); unset means default."""
        defaults = cls()

        def get(name: str) -> str | None:
            value = environ.get(PREFIX + name)
            return None if value is None or value.strip() == "" else value.strip()

        image = get("EXECUTOR_IMAGE") or defaults.executor_image
        pull = get("IMAGE_PULL_POLICY") or defaults.image_pull_policy
        if pull not in _PULL_POLICIES:
            raise SettingsError(
                f"{PREFIX}IMAGE_PULL_POLICY: must be one of {', '.join(_PULL_POLICIES)}, "
                f"got {pull!r}"
            )
        namespaces = _namespaces(get("NAMESPACES"))
        level = (get("LOG_LEVEL") or defaults.log_level).upper()
        if level not in _LOG_LEVELS:
            raise SettingsError(
                f"{PREFIX}LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)}, got {level!r}"
            )
        manager = get("FIELD_MANAGER") or defaults.field_manager
        uid = _int(get("EXECUTOR_UID"), "EXECUTOR_UID", defaults.executor_uid, low=1)
        resources = _resources(get("EXECUTOR_RESOURCES"), defaults.executor_resources)
        metrics_port = _int(get("METRICS_PORT"), "METRICS_PORT", defaults.metrics_port, 1, 65535)
        health_port = _int(get("HEALTH_PORT"), "HEALTH_PORT", defaults.health_port, 1, 65535)
        if metrics_port == health_port:
            raise SettingsError(
                f"{PREFIX}HEALTH_PORT: must differ from {PREFIX}METRICS_PORT (both {health_port})"
            )
        log_format = (get("LOG_FORMAT") or defaults.log_format).lower()
        if log_format not in _LOG_FORMATS:
            raise SettingsError(
                f"{PREFIX}LOG_FORMAT: must be one of {', '.join(_LOG_FORMATS)}, got {log_format!r}"
            )
        workers = _int(get("WORKERS"), "WORKERS", defaults.workers, 1, 64)
        resync = _int(get("RESYNC_SECONDS"), "RESYNC_SECONDS", defaults.resync_seconds, 0)
        poll = _int(
            get("FUTURES_POLL_SECONDS"), "FUTURES_POLL_SECONDS", defaults.futures_poll_seconds, 0
        )
        url = get("EXECUTOR_URL") or defaults.executor_url
        return cls(
            executor_image=image,
            image_pull_policy=pull,
            namespaces=namespaces,
            log_level=level,
            field_manager=manager,
            executor_uid=uid,
            executor_resources=resources,
            metrics_port=metrics_port,
            health_port=health_port,
            log_format=log_format,
            workers=workers,
            resync_seconds=resync,
            futures_poll_seconds=poll,
            executor_url=url,
        )

    @property
    def logging_level(self) -> int:
        """``log_level`` as a :mod:`logging` level number."""
        return logging.getLevelNamesMapping()[self.log_level]


def _namespaces(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    names = [part.strip() for part in raw.split(",") if part.strip()]
    for name in names:
        if len(name) > 63 or not _DNS_LABEL.match(name):
            raise SettingsError(f"{PREFIX}NAMESPACES: {name!r} is not a valid namespace name")
    return tuple(sorted(set(names)))


def _int(raw: str | None, name: str, default: int, low: int, high: int | None = None) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}: must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise SettingsError(f"{PREFIX}{name}: must be {bounds}, got {value}")
    return value


def _resources(
    raw: str | None, default: Mapping[str, Mapping[str, str]]
) -> Mapping[str, Mapping[str, str]]:
    if raw is None:
        return default
    name = PREFIX + "EXECUTOR_RESOURCES"
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{name}: must be a JSON object with requests and/or limits")
    result: dict[str, dict[str, str]] = {}
    for section, amounts in value.items():
        if section not in ("requests", "limits"):
            raise SettingsError(f"{name}: unknown key {section!r} (expected requests, limits)")
        if not isinstance(amounts, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) for k, v in amounts.items()
        ):
            raise SettingsError(f"{name}.{section}: must map resource names to quantities")
        result[section] = {k: str(v) for k, v in amounts.items()}
    return result
