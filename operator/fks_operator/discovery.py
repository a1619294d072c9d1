"""Whether the cluster serves the optional ServiceMonitor API, re-checked, never fatal.

The answer is cached per namespace for ``ttl`` seconds (the API can be installed or removed at
any time: prometheus-operator's CRDs often arrive after this operator). A watch on
CustomResourceDefinitions calls :meth:`ApiDiscovery.invalidate` when the ServiceMonitor CRD
changes, so installing it takes effect at once, not after the TTL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fks_operator.errors import KubeError

log = logging.getLogger(__name__)

SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com"


class ApiDiscovery:
    """A cached yes/no per namespace from ``probe(namespace)``."""

    def __init__(
        self,
        probe: Callable[[str], Awaitable[bool]],
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}
        self._last: bool | None = None

    async def served(self, namespace: str) -> bool:
        """Whether the API is served (and listable) in ``namespace``; False when the check
        itself fails (logged), so a flaky discovery never blocks a reconcile."""
        now = self._clock()
        cached = self._cache.get(namespace)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            answer = await self._probe(namespace)
        except KubeError as exc:
            log.warning("cannot tell whether ServiceMonitors are served: %s", exc)
            answer = False
        self._cache[namespace] = (answer, now + self._ttl)
        if answer != self._last:
            log.info(
                "monitoring.coreos.com/v1 ServiceMonitors %s",
                "are served" if answer else "are not served: skipping them",
            )
            self._last = answer
        return answer

    def invalidate(self) -> None:
        """Forget every cached answer (the CRD changed)."""
        self._cache.clear()
