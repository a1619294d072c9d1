"""Whether the cluster serves an optional API (ServiceMonitor, HTTPRoute), re-checked, never fatal.

The answer is cached per (kind, namespace) for ``ttl`` seconds (the API can be installed or
removed at any time: prometheus-operator's or the Gateway API's CRDs often arrive after this
operator). A watch on CustomResourceDefinitions calls :meth:`ApiDiscovery.invalidate` when one of
their CRDs (:data:`OPTIONAL_CRDS`) changes, so installing it takes effect at once, not after the
TTL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fks_operator.errors import KubeError
from fks_operator.kube import HTTP_ROUTE, OPTIONAL_APIS, SERVICE_MONITOR, Kind

log = logging.getLogger(__name__)

#: CRD name (``<plural>.<group>``) -> the optional kind it defines.
OPTIONAL_CRDS: dict[str, Kind] = {f"{kind.plural}.{kind.group}": kind for kind in OPTIONAL_APIS}


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
    """A cached yes/no per (kind, namespace) from ``probe(kind, namespace)``."""

    def __init__(
        self,
        probe: Callable[[Kind, str], Awaitable[bool]],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[Kind, str], tuple[bool, float]] = {}
        self._last: dict[Kind, bool] = {}

    async def served(self, kind: Kind, namespace: str) -> bool:
        """Whether ``kind`` is served (and listable) in ``namespace``; False when the check
        itself fails (logged), so a flaky discovery never blocks a reconcile."""
        now = self._clock()
        cached = self._cache.get((kind, namespace))
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            answer = await self._probe(kind, namespace)
        except KubeError as exc:
            log.warning("cannot tell whether %s objects are served: %s", kind, exc)
            answer = False
        self._cache[(kind, namespace)] = (answer, now + self._ttl)
        if answer != self._last.get(kind):
            log.info(
                "%s %ss %s",
                kind.api_version,
                kind.kind,
                "are served" if answer else "are not served: skipping them",
            )
            self._last[kind] = answer
        return answer

    def invalidate(self) -> None:
        """Forget every cached answer (a CRD changed)."""
        self._cache.clear()

    async def snapshot(self, namespace: str) -> ServedApis:
        """Every optional API's answer for ``namespace``."""
        return ServedApis(
            service_monitor=await self.served(SERVICE_MONITOR, namespace),
            http_route=await self.served(HTTP_ROUTE, namespace),
        )
