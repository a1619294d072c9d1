"""Watches that timestamp what happens in the cluster, the same way for every writer measured.

A :class:`Recorder` watches one resource in one namespace (raw watch stream, own thread, own
connection: JSON decoding only, no client models, so the bench's own CPU stays small) and
records, per object name and per named predicate, the monotonic time at which the predicate
first held."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tests.harness.kube_cluster import KubeCluster

Predicate = Callable[[str, Mapping[str, Any]], bool]


def added(event_type: str, obj: Mapping[str, Any]) -> bool:
    return event_type == "ADDED"


def reconciled(event_type: str, obj: Mapping[str, Any]) -> bool:
    """The pipeline's status says Reconciled=True for its current generation."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return False
    return _condition(status, "Reconciled")


def ready(event_type: str, obj: Mapping[str, Any]) -> bool:
    return _condition(obj.get("status") or {}, "Ready")


def available(event_type: str, obj: Mapping[str, Any]) -> bool:
    """A Deployment whose replicas are all available (its pods run on kwok's nodes)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    return (
        status.get("observedGeneration") == obj["metadata"].get("generation")
        and int(status.get("availableReplicas") or 0) >= wanted
    )


def _condition(status: Mapping[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or ()
    )


class Recorder:
    """Records ``times[label][name]`` for each predicate of ``predicates``."""

    def __init__(
        self,
        cluster: KubeCluster,
        path: str,
        namespace: str,
        predicates: Mapping[str, Predicate],
        labels: str = "",
    ) -> None:
        self.times: dict[str, dict[str, float]] = {label: {} for label in predicates}
        self._predicates = dict(predicates)
        context = ssl.create_default_context(cafile=str(cluster.ca_path))
        self._client = httpx.Client(
            base_url=cluster.server,
            verify=context,
            headers={"Authorization": f"Bearer {cluster.admin_token}"},
            timeout=httpx.Timeout(10, read=None),
            trust_env=False,
        )
        self._url = f"{path.format(namespace=namespace)}"
        self._params = {"watch": "1", **({"labelSelector": labels} if labels else {})}
        self._ready = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError(f"watch of {self._url} did not start")

    def _run(self) -> None:
        # Ends when close() closes the client under it.
        with (
            contextlib.suppress(httpx.HTTPError, ValueError, RuntimeError),
            self._client.stream("GET", self._url, params=self._params) as stream,
        ):
            stream.raise_for_status()
            self._socket = stream.extensions["network_stream"].get_extra_info("socket")
            self._ready.set()
            for line in stream.iter_lines():
                if line:
                    self._seen(json.loads(line))

    def _seen(self, event: Mapping[str, Any]) -> None:
        now = time.monotonic()
        kind, obj = str(event.get("type", "")), event.get("object") or {}
        name = str((obj.get("metadata") or {}).get("name", ""))
        for label, predicate in self._predicates.items():
            seen = self.times[label]
            if name not in seen and predicate(kind, obj):
                seen[name] = now

    def close(self) -> None:
        """Stop watching: shutting the socket down wakes the thread's blocking read."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()

    def wait_for(self, label: str, names: set[str], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if names <= set(self.times[label]):
                return
            time.sleep(0.05)
        missing = sorted(names - set(self.times[label]))
        raise TimeoutError(
            f"{what}: {len(missing)} of {len(names)} missing after {timeout:.0f}s "
            f"(e.g. {missing[:3]})"
        )


PIPELINES = "/apis/execution.fks.io/v1alpha1/namespaces/{namespace}/executionpipelines"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{namespace}/deployments"
#: Where a pipeline's four children are watched (their ADDED events time the writes).
CHILDREN = {
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
    "ConfigMap": "/api/v1/namespaces/{namespace}/configmaps",
    "Service": "/api/v1/namespaces/{namespace}/services",
    "Deployment": DEPLOYMENTS,
}


class WriteWindow:
    """Times one writer's cold-start writes in ``namespace``: its children (ADDED, with label
    ``labels``) and its pipelines' status (Reconciled). The window runs from the first of these
    writes seen to the last; the Deployment watch also tells when the pods behind them run."""

    def __init__(self, cluster: KubeCluster, namespace: str, labels: str) -> None:
        self.pipelines = Recorder(
            cluster, PIPELINES, namespace, {"reconciled": reconciled, "ready": ready}
        )
        deployment = {"added": added, "available": available}
        self.children = {
            kind: Recorder(
                cluster,
                path,
                namespace,
                deployment if kind == "Deployment" else {"added": added},
                labels=labels,
            )
            for kind, path in CHILDREN.items()
        }

    def wait(self, names: list[str], timeout: float) -> None:
        """Until every pipeline is Reconciled and every child exists."""
        self.pipelines.wait_for("reconciled", set(names), timeout, "pipelines Reconciled")
        for kind, recorder in self.children.items():
            wanted = (
                {f"{n}-executor" for n in names}
                if kind != "ConfigMap"
                else {f"{n}-executor-config" for n in names}
            )
            recorder.wait_for("added", wanted, 60, f"{kind}s created")

    def wait_available(self, names: list[str], timeout: float) -> None:
        """Until every executor Deployment's pods are available (the cluster settled)."""
        deployments = self.children["Deployment"]
        deployments.wait_for(
            "available", {f"{n}-executor" for n in names}, timeout, "Deployments available"
        )

    def span(self) -> tuple[float, float]:
        """(first write seen, last write seen)."""
        stamps = [t for r in self.children.values() for t in r.times["added"].values()]
        stamps += self.pipelines.times["reconciled"].values()
        return min(stamps), max(stamps)

    def spans(self, since: float) -> str:
        """When each kind of write was first and last seen, in seconds after ``since``."""
        parts = []
        for label, times in [
            *((kind, r.times["added"]) for kind, r in self.children.items()),
            ("status", self.pipelines.times["reconciled"]),
        ]:
            if times:
                first, last = min(times.values()) - since, max(times.values()) - since
                parts.append(f"{label} {first:.1f}-{last:.1f}")
        return ", ".join(parts)

    def writes(self) -> int:
        done = sum(len(r.times["added"]) for r in self.children.values())
        return done + len(self.pipelines.times["reconciled"])

    def close(self) -> None:
        for recorder in (self.pipelines, *self.children.values()):
            recorder.close()
