"""The watch caches: what a reconcile reads instead of asking the API server.

kopf lists and then watches every kind the operator cares about; its *indices*
(``@kopf.index``) keep, per object, what the functions here extract from each watch event, and
drop it when the object is deleted. kopf holds back every event handler until the first list of
every indexed kind is complete, so the first reconcile already sees every pipeline, account,
child and optional CRD that existed at start-up. What is kept, per index (memory stays small:
no ``managedFields``, children as compact JSON):

- ``fks_pipelines`` / ``fks_accounts``: the custom resources (``spec``, ``status``, metadata);
- ``fks_children-<plural>``: per child (label ``app.kubernetes.io/managed-by=fks-operator``) a
  :class:`ChildRecord`: identity, the fingerprint of the fields the operator owns, the digest of
  the manifest last applied (an annotation), the content as compact JSON, and for the executor
  Deployment what its rollout verdict needs;
- ``fks_optional_crds``: whether the ServiceMonitor / HTTPRoute CRDs are there and established.

Secrets are not indexed (the operator would have to keep every Secret of the cluster): the
values of the Secrets pipelines and accounts refer to are kept by :class:`SecretCache`, read
once on first use and then kept current by the Secret watch.

A cache can lag behind the API server by the time a watch event takes to arrive; see
docs/operator.md ("Watch caches") for why no write based on it can clobber newer data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fks_operator import references
from fks_operator.accounts import SecretData
from fks_operator.builders.meta import INSTANCE_LABEL
from fks_operator.drift import APPLIED_ANNOTATION, ChildKey, fingerprint
from fks_operator.kube import CHILD_KINDS, Body, Kind

PIPELINES = "fks_pipelines"
ACCOUNTS = "fks_accounts"
CHILDREN = "fks_children"
OPTIONAL_CRDS_INDEX = "fks_optional_crds"


def child_index(kind: Kind) -> str:
    """The id of the index of one child kind (kopf keeps one index per watched resource)."""
    return f"{CHILDREN}-{kind.plural}"


_CHILD_INDICES = {kind.kind: child_index(kind) for kind in CHILD_KINDS}

ObjectKey = tuple[str, str]
"""(namespace, name)."""

# Metadata the server maintains: not part of what the operator compares or keeps.
_SERVER_META = ("managedFields", "resourceVersion", "creationTimestamp", "generation", "uid")


def custom_resource(body: Mapping[str, Any]) -> Body:
    """A pipeline or account as kept in the cache: the object without ``managedFields``."""
    meta = dict(body.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**dict(body), "metadata": meta}


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """A child as the watch last showed it."""

    uid: str
    fingerprint: str
    owner_uid: str | None
    owner: str | None
    """Name of the owning pipeline (owner reference, else the instance label)."""
    applied_digest: str
    """The digest annotation of the manifest the operator last applied ("" when none)."""
    content: str
    """The object as compact JSON, without server-maintained metadata and status."""
    rollout: Body | None
    """Deployment only: name, generation, ``spec.replicas`` and ``status`` (readiness)."""

    def body(self) -> Body:
        loaded: Body = json.loads(self.content)
        return loaded


def child_record(body: Mapping[str, Any], field_manager: str) -> ChildRecord:
    """What the cache keeps of one child (pure)."""
    meta: Mapping[str, Any] = body.get("metadata") or {}
    labels: Mapping[str, Any] = meta.get("labels") or {}
    annotations: Mapping[str, Any] = meta.get("annotations") or {}
    owner = references.owner_pipeline(body) or labels.get(INSTANCE_LABEL)
    content = {k: v for k, v in body.items() if k not in ("status", "metadata")}
    content["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_META}
    rollout: Body | None = None
    if body.get("kind") == "Deployment":
        spec: Mapping[str, Any] = body.get("spec") or {}
        rollout = {
            "metadata": {"name": meta.get("name"), "generation": meta.get("generation", 0)},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": dict(body.get("status") or {}),
        }
    return ChildRecord(
        uid=str(meta.get("uid", "")),
        fingerprint=fingerprint(body, field_manager),
        owner_uid=references.owner_uid(body),
        owner=str(owner) if owner else None,
        applied_digest=str(annotations.get(APPLIED_ANNOTATION, "")),
        content=json.dumps(content, sort_keys=True, separators=(",", ":")),
        rollout=rollout,
    )


Indices = Mapping[str, Mapping[Hashable, Collection[Any]]]
"""kopf's indices by id (``kopf.Index``: key -> the values of every object under that key)."""


class WatchCache:
    """Typed lookups into kopf's indices (plain mappings in unit tests)."""

    def __init__(self, indices: Indices) -> None:
        self._indices = indices

    def _one(self, index: str, key: Hashable) -> Any:
        store = self._indices[index].get(key)
        return next(iter(store), None) if store else None

    def pipeline(self, namespace: str, name: str) -> Body | None:
        found: Body | None = self._one(PIPELINES, (namespace, name))
        return found

    def account(self, namespace: str, name: str) -> Body | None:
        found: Body | None = self._one(ACCOUNTS, (namespace, name))
        return found

    def pipelines_in(self, namespace: str) -> list[Body]:
        """Every pipeline of ``namespace``, by name."""
        index = self._indices[PIPELINES]
        keys = sorted(key for key in index if isinstance(key, tuple) and key[0] == namespace)
        return [body for key in keys for body in index[key]]

    def child(self, key: ChildKey) -> ChildRecord | None:
        index = _CHILD_INDICES.get(key[0])
        found: ChildRecord | None = self._one(index, key) if index else None
        return found

    def serves(self, kind: Kind) -> bool:
        """Whether the CRD of an optional kind is installed, serving its version, established."""
        crd = f"{kind.plural}.{kind.group}"
        return any(self._indices[OPTIONAL_CRDS_INDEX].get(crd) or ())


class SecretCache:
    """The ``data`` of the Secrets pipelines and accounts refer to.

    A Secret is read from the API the first time a reconcile needs it (:meth:`get`; concurrent
    first reads of one Secret share one request); from then on the Secret watch keeps it current
    (:meth:`observed`). A watch event that arrives while that first read is in flight wins over
    the read (it is at least as new)."""

    def __init__(self, fetch: Callable[[str, str], Awaitable[Body | None]]) -> None:
        self._fetch = fetch
        self._data: dict[ObjectKey, SecretData | None] = {}
        self._reading: dict[ObjectKey, asyncio.Future[None]] = {}
        self._events_while_reading: dict[ObjectKey, int] = {}
        self.reads = 0

    def tracked(self, namespace: str, name: str) -> bool:
        return (namespace, name) in self._data

    def observed(self, namespace: str, name: str, body: Mapping[str, Any] | None) -> None:
        """A watch event of a Secret some pipeline or account uses (``body`` None: deleted)."""
        key = (namespace, name)
        self._data[key] = None if body is None else dict(body.get("data") or {})
        if key in self._events_while_reading:
            self._events_while_reading[key] += 1

    def forget(self, namespace: str, name: str) -> None:
        """Nobody refers to the Secret any more."""
        self._data.pop((namespace, name), None)

    async def get(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's data (None: it does not exist)."""
        key = (namespace, name)
        while key not in self._data:
            reading = self._reading.get(key)
            if reading is None:
                self._events_while_reading[key] = 0
                reading = asyncio.ensure_future(self._read(key))
                self._reading[key] = reading
            await asyncio.shield(reading)
        return self._data[key]

    async def _read(self, key: ObjectKey) -> None:
        try:
            body = await self._fetch(*key)
            self.reads += 1
            if self._events_while_reading[key] == 0:
                self._data[key] = None if body is None else dict(body.get("data") or {})
        finally:
            del self._events_while_reading[key]
            del self._reading[key]

    async def get_many(self, namespace: str, names: Iterable[str]) -> dict[str, SecretData | None]:
        """Several Secrets of one namespace (read concurrently when not cached yet)."""
        wanted = sorted(set(names))
        found = await asyncio.gather(*(self.get(namespace, name) for name in wanted))
        return dict(zip(wanted, found, strict=True))
