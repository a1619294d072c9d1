"""The one seam to the Kubernetes API: every read and write of the reconcile loop goes through
:class:`KubeApi` (kopf's own watch streams aside; the reconcile reads from the watch caches,
:mod:`fks_operator.caches`, and reads here only a Secret it has not seen yet).

Objects in and out are plain JSON dicts, so the pure builders' manifests go to the API as they
are and what comes back is compared with plain ``==``. Under the hood: one aiohttp session (the
HTTP client kopf's watches use too; its C HTTP parser and the event loop's TLS transport cost a
third of the CPU per request of lightkube's httpx client, which matters when a cold start
writes thousands of objects from one event loop), keep-alive connections, the TLS settings and
credentials of the kubeconfig or ServiceAccount as lightkube reads them. Errors are translated
here, in one place, into :class:`~fks_operator.errors.ApiError` /
:class:`~fks_operator.errors.ApiUnavailable`.

Children are written with server-side apply, the fixed field manager and ``force=True``: the
operator owns every field it sets and takes it back from whoever changed it (drift correction).
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from lightkube.config.kubeconfig import SingleConfig

from fks_operator.conditions import format_time, truncate
from fks_operator.credentials import Credentials, tls_context
from fks_operator.errors import ApiError, ApiUnavailable
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


# --- the client ---------------------------------------------------------------------------------


class RequestObserver(Protocol):
    """Told about every API request (metrics)."""

    def api_request(self, verb: str, kind: str, result: str) -> None: ...


class _NoObserver:
    def api_request(self, verb: str, kind: str, result: str) -> None:
        return None


def _what(kind: Kind, namespace: str, name: str) -> str:
    return f"{kind.kind} {namespace}/{name}"


def _path(kind: Kind, namespace: str, name: str = "", subresource: str = "") -> str:
    root = f"/api/{kind.version}" if not kind.group else f"/apis/{kind.api_version}"
    path = f"{root}/namespaces/{quote(namespace, safe='')}/{kind.plural}"
    if name:
        path += f"/{quote(name, safe='')}"
    return f"{path}/{subresource}" if subresource else path


def _status_of(payload: bytes, fallback: str) -> tuple[str, str]:
    """reason and message of a metav1.Status error body (anything else: the HTTP reason)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return fallback, payload[:200].decode(errors="replace")
    if not isinstance(body, dict):
        return fallback, ""
    return str(body.get("reason") or fallback), str(body.get("message", ""))


APPLY_PATCH = "application/apply-patch+yaml"  # JSON is YAML: the manifest is sent as JSON
MERGE_PATCH = "application/merge-patch+json"


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
        self._server = config.cluster.server.rstrip("/")
        self._tls = tls_context(config)
        self._credentials = Credentials(config)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._instance = socket.gethostname()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: a session belongs to the running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls if self._tls else False),
                timeout=self._timeout,
                json_serialize=json.dumps,
                trust_env=False,
            )
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        kind: Kind,
        what: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> Body:
        """One request; the decoded answer, or ApiError / ApiUnavailable (and the metric)."""
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        renew = False
        while True:
            headers.update(self._credentials.header(renew=renew))
            try:
                async with self._client().request(
                    method, self._server + path, params=params, data=data, headers=headers
                ) as response:
                    payload = await response.read()
                    status, reason = response.status, response.reason or ""
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._observer.api_request(verb, kind.kind, "unavailable")
                raise ApiUnavailable(f"{what}: API server unreachable ({exc!r})") from None
            if status == 401 and self._credentials.renewable and not renew:
                renew = True  # a rotated ServiceAccount token: read the file again, once
                continue
            break
        if status >= 400:
            self._observer.api_request(verb, kind.kind, str(status))
            reason, message = _status_of(payload, reason)
            raise ApiError(status, reason, message, what=what)
        self._observer.api_request(verb, kind.kind, "ok")
        try:
            answer = json.loads(payload)
        except ValueError:
            raise ApiUnavailable(f"{what}: the API server's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise ApiUnavailable(f"{what}: the API server's answer is not an object")
        return answer

    async def get(self, kind: Kind, namespace: str, name: str) -> Body | None:
        """The object, or None when it does not exist."""
        what = _what(kind, namespace, name)
        try:
            return await self._request(
                "GET", _path(kind, namespace, name), verb="get", kind=kind, what=what
            )
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    async def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Body:
        """Server-side apply with the fixed field manager, taking over conflicting fields
        (``dry_run``: validated and defaulted by the server, not stored)."""
        kind = kind_of(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        params = {"fieldManager": self.field_manager, "force": "true"}
        if dry_run:
            params["dryRun"] = "All"
        return await self._request(
            "PATCH",
            _path(kind, meta["namespace"], meta["name"]),
            verb="apply_dry_run" if dry_run else "apply",
            kind=kind,
            what=_what(kind, meta["namespace"], meta["name"]),
            params=params,
            body=manifest,
            content_type=APPLY_PATCH,
        )

    async def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        """Delete the object (background propagation); False when it was already gone.

        The caller checks that the object is one of its children first."""
        try:
            await self._request(
                "DELETE",
                _path(kind, namespace, name),
                verb="delete",
                kind=kind,
                what=_what(kind, namespace, name),
                params={"propagationPolicy": "Background"},
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
        patch: Body = {"status": dict(status)}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        return await self._request(
            "PATCH",
            _path(kind, namespace, name, "status"),
            verb="patch_status",
            kind=kind,
            what=_what(kind, namespace, name),
            body=patch,
            content_type=MERGE_PATCH,
        )

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
        await self._request(
            "POST",
            _path(EVENT, meta["namespace"]),
            verb="create",
            kind=EVENT,
            what=f"Event {meta['namespace']}/{event['metadata']['name']}",
            body=event,
            content_type="application/json",
        )
