"""A recording pass-through proxy in front of the real kube-apiserver, for RBAC tests.

The operator under test gets a kubeconfig pointing at ``http://127.0.0.1:<port>`` with its
ServiceAccount token; the proxy forwards every request unchanged (token included) to the API
server over TLS and streams the answer back (watches included). Authentication and authorization
are the real API server's: the proxy only writes down what was asked and what was answered, so a
test can list the (apiGroup, resource, verb) triples a process used, and every 403 it got.

Two permissions are checked by the API server without a request of their own: ``create`` when a
server-side apply creates its object, and, where the ``OwnerReferencesPermissionEnforcement``
admission plugin is on, ``update`` of an owner's ``finalizers`` when a new object names that
owner with ``blockOwnerDeletion: true``. :meth:`RecordingProxy.triples` counts both.

Plain HTTP is only ever on loopback, inside a test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import yaml
from aiohttp import web

Triple = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One API request as RBAC sees it."""

    method: str
    path: str
    query: str
    status: int
    group: str | None  # None: not a resource request (discovery, /version, ...)
    resource: str
    namespace: str | None
    name: str | None
    verb: str
    message: str = ""  # the API server's message, for errors
    blocked_owners: tuple[tuple[str, str], ...] = ()
    """(apiGroup, kind) of each owner the request body names with ``blockOwnerDeletion: true``."""

    @property
    def rbac_denied(self) -> bool:
        """Refused by authorization (not by admission, e.g. a terminating namespace)."""
        return self.status == 403 and " cannot " in self.message

    @property
    def triple(self) -> Triple:
        return (self.group or "", self.resource, self.verb)


def blocked_owners(body: bytes) -> tuple[tuple[str, str], ...]:
    """(apiGroup, kind) of the owner references with ``blockOwnerDeletion: true`` in a request
    body (JSON, or YAML for server-side apply); () when there are none or it does not parse."""
    if b"blockOwnerDeletion" not in body:
        return ()
    try:
        obj: Any = yaml.safe_load(body)  # JSON is YAML
    except yaml.YAMLError:
        return ()
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
    return tuple(
        (str(ref.get("apiVersion", "")).rpartition("/")[0], str(ref.get("kind", "")))
        for ref in refs or ()
        if isinstance(ref, dict) and ref.get("blockOwnerDeletion") is True
    )


def classify(method: str, path: str, query: str, status: int) -> Request:
    """Map an HTTP request to RBAC terms, as the API server's request-info resolver does."""
    parts = [p for p in path.split("/") if p]
    group: str | None = None
    rest: list[str] = []
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    if group is None or not rest:
        return Request(method, path, query, status, None, "", None, None, method.lower())
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) >= 2 else None
    if len(rest) >= 3:
        resource = f"{resource}/{rest[2]}"
    if rest[0] == "namespaces" and len(rest) == 2:  # /api/v1/namespaces/<name>: the namespace
        namespace = None
    params = parse_qs(query)
    watch = params.get("watch", ["false"])[0] in ("true", "1")
    if method == "GET":
        verb = "get" if name else ("watch" if watch else "list")
    else:
        verb = {
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if name else "deletecollection",
        }.get(method, method.lower())
    return Request(method, path, query, status, group, resource, namespace, name, verb)


class RecordingProxy:
    """Start with :meth:`start`, stop with :meth:`stop`; :attr:`requests` grows as it runs."""

    def __init__(
        self, upstream: str, ca_path: Path, *, owner_plurals: Mapping[tuple[str, str], str] = {}
    ) -> None:
        """``owner_plurals``: resource name of each owner kind (apiGroup, kind) children may
        name, for the ``<resource>/finalizers`` permission (an unknown kind shows as
        ``<Kind>?/finalizers``, which no rule grants, so a test notices)."""
        self.upstream = upstream.rstrip("/")
        self.owner_plurals = dict(owner_plurals)
        self._ssl = ssl.create_default_context(cafile=str(ca_path))
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def triples(self, requests: Iterable[Request] | None = None) -> set[Triple]:
        """(group, resource, verb) of every resource request that was allowed. A server-side
        apply that created its object (201) also used ``create``, which the API server checks;
        an object created (201, dry runs too) with owner references that block owner deletion
        also used ``update`` on each owner's ``finalizers``, which the API server checks when
        OwnerReferencesPermissionEnforcement is on (the caller makes sure it is)."""
        found: set[Triple] = set()
        for request in self.snapshot() if requests is None else requests:
            if request.group is None or request.status == 401 or request.rbac_denied:
                continue
            found.add(request.triple)
            if request.verb == "patch" and request.status == 201:
                found.add((request.group, request.resource, "create"))
            if request.status == 201:
                for group, kind in request.blocked_owners:
                    plural = self.owner_plurals.get((group, kind), f"{kind}?")
                    found.add((group, f"{plural}/finalizers", "update"))
        return found

    def forbidden(self) -> list[Request]:
        """Requests RBAC refused."""
        return [r for r in self.snapshot() if r.rbac_denied]

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            auto_decompress=False,
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop(self) -> None:
        # Close the upstream side first: open watch streams end, so their handlers return.
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.shutdown()
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        url = f"{self.upstream}{request.rel_url}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        split = urlsplit(str(request.rel_url))
        response = web.StreamResponse()
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as upstream:
                response.set_status(upstream.status, upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        response.headers[key] = value
                if upstream.status >= 400:  # a small Status object: keep its message
                    error = await upstream.read()
                    self._record(request.method, split.path, split.query, upstream.status, error)
                    await response.prepare(request)
                    await response.write(error)
                else:
                    self._record(
                        request.method, split.path, split.query, upstream.status, sent=body
                    )
                    await response.prepare(request)
                    async for chunk in upstream.content.iter_any():
                        await response.write(chunk)
                await response.write_eof()
        except (aiohttp.ClientError, ConnectionResetError, RuntimeError) as exc:
            if not response.prepared:  # the API server could not be reached at all
                return web.Response(status=502, text=f"proxy: {exc!r}")
            # One side hung up mid-stream: the client closed a watch it no longer wants, or the
            # proxy is stopping. Nothing more to forward; the request was recorded already.
        return response

    def _record(
        self, method: str, path: str, query: str, status: int, body: bytes = b"", sent: bytes = b""
    ) -> None:
        request = classify(method, path, query, status)
        if sent and method in ("POST", "PUT", "PATCH"):
            request = dataclasses.replace(request, blocked_owners=blocked_owners(sent))
        if body:
            try:
                message = str(json.loads(body).get("message", ""))
            except (ValueError, AttributeError):
                message = body[:500].decode(errors="replace")
            request = dataclasses.replace(request, message=message)
        with self._lock:
            self.requests.append(request)
