"""Whether the cluster serves an optional API (ServiceMonitor, HTTPRoute), from the CRD watch.

The operator watches the two CustomResourceDefinitions (:data:`OPTIONAL_CRDS`; their state is
kept in a watch cache, :mod:`fks_operator.caches`): a kind is served when its CRD exists, serves
the version the operator writes and is established. So the answer costs no request, and
installing or removing the CRD takes effect with its watch event. An API the CRD says is there
may still refuse the operator in one namespace (403: RBAC; 404: the CRD went away a moment
ago): :meth:`ApiDiscovery.refused` records that, and the kind counts as not served in that
namespace for ``ttl`` seconds (or until a CRD changes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fks_operator.kube import HTTP_ROUTE, OPTIONAL_APIS, SERVICE_MONITOR, Kind

log = logging.getLogger(__name__)

#: CRD name (``<plural>.<group>``) -> the optional kind it defines.
OPTIONAL_CRDS: dict[str, Kind] = {f"{kind.plural}.{kind.group}": kind for kind in OPTIONAL_APIS}


def crd_serves(body: Mapping[str, Any]) -> bool:
    """Whether an optional CRD serves the version the operator writes and is established."""
    meta: Mapping[str, Any] = body.get("metadata") or {}
    kind = OPTIONAL_CRDS.get(str(meta.get("name", "")))
    if kind is None or meta.get("deletionTimestamp"):
        return False
    versions = (body.get("spec") or {}).get("versions") or ()
    served = any(v.get("name") == kind.version and v.get("served") for v in versions)
    conditions = (body.get("status") or {}).get("conditions") or ()
    established = any(
        c.get("type") == "Established" and c.get("status") == "True" for c in conditions
    )
    return served and established


@dataclass(frozen=True, slots=True)
class ServedApis:
    """Which optional APIs the cluster serves in one namespace (for one reconcile)."""

    service_monitor: bool
    http_route: bool

    def serves(self, kind: Kind) -> bool:
        """Whether objects of ``kind`` can exist (built-in kinds always can)."""
        if kind is SERVICE_MONITOR:
            return self.service_monitor
        if kind is HTTP_ROUTE:
            return self.http_route
        return True


class ApiDiscovery:
    """``installed(kind)`` (the CRD watch cache) minus recent refusals per namespace."""

    def __init__(
        self,
        installed: Callable[[Kind], bool],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._installed = installed
        self._ttl = ttl
        self._clock = clock
        self._refused: dict[tuple[Kind, str], float] = {}
        self._last: dict[Kind, bool] = {}

    def served(self, kind: Kind, namespace: str) -> bool:
        """Whether ``kind`` is served, and was not refused lately, in ``namespace``."""
        answer = self._installed(kind)
        if answer != self._last.get(kind):
            log.info(
                "%s %ss %s",
                kind.api_version,
                kind.kind,
                "are served" if answer else "are not served: skipping them",
            )
            self._last[kind] = answer
        until = self._refused.get((kind, namespace))
        if until is not None:
            if until > self._clock():
                return False
            del self._refused[(kind, namespace)]
        return answer

    def refused(self, kind: Kind, namespace: str) -> None:
        """An apply of ``kind`` in ``namespace`` was answered 403 or 404."""
        log.warning(
            "%s %ss refused in namespace %s: treating them as not served for %.0fs",
            kind.api_version,
            kind.kind,
            namespace,
            self._ttl,
        )
        self._refused[(kind, namespace)] = self._clock() + self._ttl

    def invalidate(self) -> None:
        """Forget every refusal (a CRD changed)."""
        self._refused.clear()

    def snapshot(self, namespace: str) -> ServedApis:
        """Every optional API's answer for ``namespace``."""
        return ServedApis(
            service_monitor=self.served(SERVICE_MONITOR, namespace),
            http_route=self.served(HTTP_ROUTE, namespace),
        )
