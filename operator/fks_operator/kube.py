"""The one seam to the Kubernetes API: every read and write of the reconcile loop goes through
:class:`KubeApi` (kopf's own watch streams aside; the reconcile reads from the watch caches,
:mod:`fks_operator.caches`, and reads here only a Secret it has not seen yet).

Objects in and out are plain JSON dicts, so the pure builders' manifests go to the API as they
are and what comes back is compared with plain ``==``. Under the hood: lightkube's
``AsyncClient`` (never blocks the event loop) with resource classes built here for exactly the
kinds the operator touches; they are not registered in lightkube's global registry, so nothing
else in the process is affected. Errors are translated here, in one place, into
:class:`~fks_operator.errors.ApiError` / :class:`~fks_operator.errors.ApiUnavailable`.

Children are written with server-side apply, the fixed field manager and ``force=True``: the
operator owns every field it sets and takes it back from whoever changed it (drift correction).
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx2
import lightkube
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core import resource as lk_resource
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import GenericNamespacedResource, GenericNamespacedStatus
from lightkube.types import CascadeType, PatchType

from fks_operator.conditions import format_time, truncate
from fks_operator.errors import ApiError, ApiUnavailable, SettingsError
from fks_operator.specs import GROUP, VERSION

log = logging.getLogger(__name__)

Body = dict[str, Any]
"""A Kubernetes object as the API returns it (plain JSON dict)."""

COMPONENT = "fks-operator"
"""``reportingComponent`` / ``source.component`` of the operator's Events."""


@dataclass(frozen=True, slots=True)
class Kind:
    """A namespaced API resource the operator reads or writes."""

    api_version: str
    kind: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def __str__(self) -> str:
        return self.kind


PIPELINE = Kind(f"{GROUP}/{VERSION}", "ExecutionPipeline", "executionpipelines")
ACCOUNT = Kind(f"{GROUP}/{VERSION}", "ExchangeAccount", "exchangeaccounts")
SECRET = Kind("v1", "Secret", "secrets")
EVENT = Kind("v1", "Event", "events")
CONFIG_MAP = Kind("v1", "ConfigMap", "configmaps")
SERVICE = Kind("v1", "Service", "services")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
HPA = Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers")
PDB = Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets")
SERVICE_MONITOR = Kind("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors")
NETWORK_POLICY = Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies")
INGRESS = Kind("networking.k8s.io/v1", "Ingress", "ingresses")
HTTP_ROUTE = Kind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes")

#: Every kind a pipeline's children can have, in apply order.
CHILD_KINDS: tuple[Kind, ...] = (
    CONFIG_MAP,
    NETWORK_POLICY,
    SERVICE,
    DEPLOYMENT,
    HPA,
    PDB,
    SERVICE_MONITOR,
    INGRESS,
    HTTP_ROUTE,
)
#: Children of APIs a cluster may not serve (CRDs of other projects): applied only where
#: discovery finds them (:mod:`fks_operator.discovery`).
OPTIONAL_APIS: tuple[Kind, ...] = (SERVICE_MONITOR, HTTP_ROUTE)
_BY_TYPE = {(k.api_version, k.kind): k for k in (PIPELINE, ACCOUNT, SECRET, EVENT, *CHILD_KINDS)}


def kind_of(api_version: str, kind: str) -> Kind:
    """The :class:`Kind` of a manifest's ``apiVersion``/``kind`` (KeyError when unknown)."""
    return _BY_TYPE[(api_version, kind)]


# --- lightkube resource classes (built here, never registered globally) -------------------------

_VERBS = ["delete", "get", "global_list", "global_watch", "list", "patch", "post", "put", "watch"]


@dataclass(frozen=True, slots=True)
class _Classes:
    main: type[GenericNamespacedResource]
    status: type[GenericNamespacedStatus]


def _classes(kind: Kind) -> _Classes:
    definition = lk_resource.ResourceDef(kind.group, kind.version, kind.kind)
    main_info = lk_resource.ApiInfo(resource=definition, plural=kind.plural, verbs=_VERBS)
    status_info = lk_resource.ApiInfo(
        resource=definition,
        parent=definition,
        plural=kind.plural,
        verbs=["get", "patch", "put"],
        action="status",
    )
    main = type(kind.kind, (GenericNamespacedResource,), {"_api_info": main_info})
    status = type(f"{kind.kind}Status", (GenericNamespacedStatus,), {"_api_info": status_info})
    return _Classes(main, status)


_CLASSES: dict[Kind, _Classes] = {kind: _classes(kind) for kind in _BY_TYPE.values()}


# --- configuration ------------------------------------------------------------------------------


def load_config() -> SingleConfig:
    """The API connection: in-cluster ServiceAccount when running in a pod, else ``$KUBECONFIG``
    (or ``~/.kube/config``). Raises SettingsError when neither is usable."""
    try:
        config = KubeConfig.from_env().get()
    except (ConfigError, OSError, KeyError) as exc:
        raise SettingsError(
            "no Kubernetes API credentials: not running in a pod with a ServiceAccount, and "
            f"no usable kubeconfig (KUBECONFIG or ~/.kube/config): {exc}"
        ) from None
    if config is None:  # pragma: no cover - get() without a default never returns None
        raise SettingsError("the kubeconfig has no current context")
    return config


# --- the client ---------------------------------------------------------------------------------


class RequestObserver(Protocol):
    """Told about every API request (metrics)."""

    def api_request(self, verb: str, kind: str, result: str) -> None: ...


class _NoObserver:
    def api_request(self, verb: str, kind: str, result: str) -> None:
        return None


def _what(kind: Kind, namespace: str, name: str) -> str:
    return f"{kind.kind} {namespace}/{name}"


def _message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


@asynccontextmanager
async def _translated(
    observer: RequestObserver, verb: str, kind: Kind, what: str
) -> AsyncIterator[None]:
    """Translate lightkube/httpx errors into the operator's error tree, and count the request."""
    try:
        yield
    except lightkube.ApiError as exc:
        status = exc.status
        code = int(status.code or exc.response.status_code)
        observer.api_request(verb, kind.kind, str(code))
        raise ApiError(
            code, str(status.reason or ""), str(status.message or ""), what=what
        ) from None
    except httpx2.HTTPStatusError as exc:  # lightkube's list/watch paths raise these untranslated
        code = exc.response.status_code
        observer.api_request(verb, kind.kind, str(code))
        raise ApiError(
            code, exc.response.reason_phrase, _message(exc.response), what=what
        ) from None
    except httpx2.HTTPError as exc:
        observer.api_request(verb, kind.kind, "unavailable")
        raise ApiUnavailable(f"{what}: API server unreachable ({exc!r})") from None
    observer.api_request(verb, kind.kind, "ok")


class KubeApi:
    """Async access to the few API calls the operator makes; plain dicts in and out."""

    def __init__(
        self,
        config: SingleConfig,
        *,
        field_manager: str,
        observer: RequestObserver | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.field_manager = field_manager
        self._observer: RequestObserver = observer or _NoObserver()
        self._client = lightkube.AsyncClient(
            config=config,
            field_manager=field_manager,
            timeout=httpx2.Timeout(timeout),
            trust_env=False,
        )
        self._instance = socket.gethostname()

    async def close(self) -> None:
        await self._client.close()

    async def get(self, kind: Kind, namespace: str, name: str) -> Body | None:
        """The object, or None when it does not exist."""
        try:
            async with _translated(self._observer, "get", kind, _what(kind, namespace, name)):
                obj = await self._client.get(_CLASSES[kind].main, name, namespace=namespace)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise
        return dict(obj)

    async def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Body:
        """Server-side apply with the fixed field manager, taking over conflicting fields
        (``dry_run``: validated and defaulted by the server, not stored)."""
        kind = kind_of(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        what = _what(kind, meta["namespace"], meta["name"])
        verb = "apply_dry_run" if dry_run else "apply"
        async with _translated(self._observer, verb, kind, what):
            obj = await self._client.patch(
                _CLASSES[kind].main,
                meta["name"],
                dict(manifest),
                namespace=meta["namespace"],
                patch_type=PatchType.APPLY,
                field_manager=self.field_manager,
                force=True,
                dry_run=dry_run,
            )
        return dict(obj)

    async def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        """Delete the object (background propagation); False when it was already gone.

        The caller checks that the object is one of its children first (lightkube sends no
        DeleteOptions body, so a uid precondition is not available)."""
        what = _what(kind, namespace, name)
        try:
            async with _translated(self._observer, "delete", kind, what):
                await self._client.delete(
                    _CLASSES[kind].main,
                    name,
                    namespace=namespace,
                    cascade=CascadeType.BACKGROUND,
                )
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    async def patch_status(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> Body:
        """Merge-patch ``status`` through the status subresource (spec is never touched).
        Keys to remove must be given as None. With ``resource_version`` the server refuses
        (409) unless the object is still at that version (the patch was computed from it)."""
        what = _what(kind, namespace, name)
        patch: Body = {"status": dict(status)}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        async with _translated(self._observer, "patch_status", kind, what):
            obj = await self._client.patch(
                _CLASSES[kind].status,
                name,
                patch,
                namespace=namespace,
                patch_type=PatchType.MERGE,
            )
        return dict(obj)

    async def post_event(
        self, involved: Mapping[str, Any], *, type_: str, reason: str, message: str
    ) -> None:
        """Record a core/v1 Event on ``involved`` (an object as read from the API)."""
        meta = involved["metadata"]
        now = format_time(datetime.now(UTC))
        event: Body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{secrets.token_hex(8)}",
                "namespace": meta["namespace"],
            },
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
            },
            "type": type_,
            "reason": reason,
            "message": truncate(message),
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        what = f"Event {meta['namespace']}/{event['metadata']['name']}"
        async with _translated(self._observer, "create", EVENT, what):
            await self._client.create(_CLASSES[EVENT].main.from_dict(event))
