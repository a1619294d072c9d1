"""What a reconcile works with: the API client, the settings, the caches, and the status this
process wrote that the watch has not shown yet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fks_operator.accounts import ExchangeCatalog
from fks_operator.caches import SecretCache, WatchCache
from fks_operator.discovery import ApiDiscovery
from fks_operator.drift import ChildStates
from fks_operator.kube import PIPELINE, Body, Kind, KubeApi
from fks_operator.live import LiveSwitches
from fks_operator.settings import OperatorSettings


@dataclass
class Context:
    """Everything a reconcile needs besides the object's name."""

    api: KubeApi
    settings: OperatorSettings
    catalog: ExchangeCatalog
    cache: WatchCache
    secrets: SecretCache
    children: ChildStates
    discovery: ApiDiscovery
    live: LiveSwitches
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    written: dict[tuple[str, str, str], tuple[str, Body]] = field(default_factory=dict)
    """Status written by this process that the watch cache has not shown yet: key ->
    (the resourceVersion the write was based on, the object the API server returned)."""

    def current(self, kind: Kind, namespace: str, name: str) -> Body | None:
        """A pipeline or account as the cache shows it, or as this process last wrote it while
        the cache still shows the version that write replaced."""
        key = (kind.kind, namespace, name)
        lookup = self.cache.pipeline if kind is PIPELINE else self.cache.account
        body = lookup(namespace, name)
        own = self.written.get(key)
        if body is None or own is None:
            self.written.pop(key, None)
            return body
        if own[0] == resource_version(body):
            return own[1]
        del self.written[key]  # the cache has caught up (or moved past)
        return body


def resource_version(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("resourceVersion", ""))
