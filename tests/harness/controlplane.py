"""A real Kubernetes control plane as local processes, for integration tests and cluster-up.

What runs (all on 127.0.0.1, free ports, no root, no containers; binaries built from Go modules
by hack/control-plane/build.sh, see docs/control-plane.md):
etcd, kube-apiserver (RBAC, static tokens), kube-controller-manager (garbage collector,
deployment, replicaset, HPA, PDB/disruption, serviceaccount(-token), namespace, root-ca-cert
publisher, pod GC, ClusterRole aggregation), kube-scheduler, and kwok, which plays the kubelet
for a few fake nodes (``kwok-node-0..2``): scheduled pods become Running and Ready with fake pod
IPs (never connect to them). There is no metrics API, so HPAs exist but never scale.

Fixture API for tests (registered by tests/harness/kube_fixtures.py)
----------------------------------------------------------------------
``kube`` (session scope) -> ``tests.harness.kube_cluster.KubeCluster``; one plane per pytest
session, started on first use. Set ``FKS_TEST_KUBECONFIG=/path/kubeconfig`` to use an already
running cluster instead (e.g. ``.cluster/kubeconfig`` after ``make cluster-up``); ``KUBECONFIG``
is deliberately ignored, so a developer's real cluster is never touched. Skips (with the reason)
only when Go is missing and the binaries are not built; any other failure is an error.

- ``kube.kubeconfig`` (Path, admin), ``kube.server`` (https URL), ``kube.ca_path`` (Path),
  ``kube.admin_token`` (group system:masters)
- ``kube.users`` -> ``["alice", "bob"]``; ``kube.token_for("alice")``: a token for a user with no
  groups and no permissions until a test binds a Role to it (real RBAC, real 403s)
- ``kube.service_account_token(ns, name, create=False, duration_seconds=3600, audiences=())``:
  a TokenRequest token, so a process can run with ONLY a ServiceAccount's RBAC
- ``kube.kubeconfig_for(token, name=...)`` -> Path of a kubeconfig using that token (hand it to a
  subprocess as KUBECONFIG, e.g. the operator running as the chart's ServiceAccount)
- ``kube.kubectl(*args, token=None, kubeconfig=None, input=None, check=True, timeout=60)``
  -> CompletedProcess (raises ``KubectlError`` with stdout/stderr); ``kube.kubectl_json(...)``;
  ``kube.apply(yaml_text_or_dict, namespace=None)`` (server-side apply)
- ``kube.client(token=None, namespace=None)`` -> lightkube ``Client``
- ``kube.wait_for(probe, timeout=60, what=..., describe=...)``: poll; on timeout the error
  includes the current state and the tail of every component log (``kube.log_tails()``)

``namespace`` (function scope) -> str: a fresh namespace (``t-<test>-<random>``) whose default
ServiceAccount exists; deleted after the test. A failing test that used ``kube`` gets a
"control plane logs" report section with the log paths and tails.

Outside pytest: ``ControlPlane(run_dir).start()`` returns the same KubeCluster, ``stop()`` ends
every process; ``python -m tests.harness.controlplane up|down|status|measure`` (kube_cli.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.harness import kube_binaries, kube_pki
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import ManagedProcess, free_port

REPO: Path = kube_binaries.REPO
CLUSTER_ROOT: Path = REPO / ".cluster"
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
CONTROLLERS = (
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "horizontal-pod-autoscaler-controller",
    "disruption-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "root-ca-certificate-publisher-controller",
    "pod-garbage-collector-controller",
    "clusterrole-aggregation-controller",  # aggregate-to-admin/edit/view ClusterRoles (charts)
)


class ControlPlaneError(RuntimeError):
    pass


def fake_node(name: str) -> dict[str, Any]:
    """A Node that kwok manages (by annotation): it keeps it Ready and runs its pods (fakes)."""
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
            },
        },
    }


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok under ``run_dir``."""

    def __init__(
        self,
        run_dir: Path,
        *,
        nodes: int = 3,
        bin_dir: Path | None = None,
        detached: bool = False,
    ) -> None:
        """``detached``: the components outlive this process (``make cluster-up``); otherwise
        they die with it, even when it is killed (see ``tests.harness.procs``)."""
        self.run_dir = run_dir.resolve()
        self.detached = detached
        self.nodes = [f"kwok-node-{i}" for i in range(nodes)]
        self.bin_dir = bin_dir or kube_binaries.bin_dir()
        self.procs: dict[str, ManagedProcess] = {}
        self.phases: dict[str, float] = {}  # phase -> seconds, filled by start()
        self.startup_seconds: float | None = None
        self.retries: list[str] = []  # why start() had to try again (a port taken meanwhile)
        self._cluster: KubeCluster | None = None
        self._ports: dict[str, int] = {}

    # -- public -----------------------------------------------------------------------------
    @property
    def cluster(self) -> KubeCluster:
        if self._cluster is None:
            raise ControlPlaneError("the control plane is not started")
        return self._cluster

    def __enter__(self) -> KubeCluster:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> KubeCluster:
        """Start every component and wait until the plane works end to end; returns the handle.

        On failure everything already started is stopped and ControlPlaneError carries the
        component log tails. A port taken by someone else between choosing and binding it (free
        ports are only free "a moment ago") gets one retry on new ports.
        """
        missing = [b for b in kube_binaries.BINARIES if not (self.bin_dir / b).is_file()]
        if missing:
            raise ControlPlaneError(
                f"missing binaries in {self.bin_dir}: {', '.join(missing)} (run make control-plane)"
            )
        t0 = time.monotonic()
        for attempt in (1, 2):
            try:
                self._start(t0 + timeout * attempt)
                break
            except Exception as exc:
                tails = self._log_tails()
                self.stop()
                self.procs.clear()
                if attempt == 1 and "address already in use" in tails:
                    self.retries.append(f"{exc} (address already in use)")
                    continue
                raise ControlPlaneError(f"control plane failed to start: {exc}\n{tails}") from exc
        self.startup_seconds = time.monotonic() - t0
        self._write_state()
        return self.cluster

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop every component (reverse start order); idempotent. Logs are kept."""
        if self._cluster is not None:
            self._cluster.close()
        for name in reversed(list(self.procs)):
            self.procs[name].stop(timeout=15)
        if not keep_data:
            shutil.rmtree(self.run_dir / "etcd-data", ignore_errors=True)

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}

    def rss_bytes(self) -> dict[str, int]:
        return {name: rss_of(pid) for name, pid in self.pids().items()}

    def log_paths(self) -> dict[str, Path]:
        return {name: self.run_dir / "logs" / f"{name}.log" for name in self.procs}

    # -- start sequence ----------------------------------------------------------------------
    def _phase(self, name: str, started: float) -> None:
        self.phases[name] = round(time.monotonic() - started, 2)

    def _start(self, deadline: float) -> None:
        t = time.monotonic()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.run_dir / "etcd-data", ignore_errors=True)
        pki = kube_pki.generate(self.run_dir / "pki")
        ports = self._ports = {
            n: free_port() for n in ("etcd", "etcd-peer", "apiserver", "kcm", "scheduler", "kwok")
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfig = kube_pki.write_kubeconfig(
            self.run_dir / "kubeconfig", server, pki.ca_cert, pki.tokens["admin"]
        )
        component_kubeconfig = {
            name: kube_pki.write_kubeconfig(
                self.run_dir / "components" / f"{name}.kubeconfig", server, pki.ca_cert,
                pki.tokens[user], user,
            )
            for name, user in (
                ("kcm", "system:kube-controller-manager"),
                ("scheduler", "system:kube-scheduler"),
                ("kwok", "kwok-controller"),
            )
        }  # fmt: skip
        self._cluster = KubeCluster(
            kubeconfig=kubeconfig,
            server=server,
            ca_path=pki.ca_cert,
            admin_token=pki.tokens["admin"],
            kubectl_path=str(self.bin_dir / "kubectl"),
            user_tokens={u: pki.tokens[u] for u in kube_pki.TEST_USERS},
            logs={},
            scratch_dir=self.run_dir / "scratch",
        )
        self._phase("pki", t)

        t = time.monotonic()
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        self._spawn("etcd", [
            "--name=fks", f"--data-dir={self.run_dir / 'etcd-data'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=fks={peer_url}", "--unsafe-no-fsync", "--log-level=warn",
        ])  # fmt: skip
        self._wait("etcd", lambda: _get(f"{etcd_url}/health", None, None) == 200, deadline)
        self._phase("etcd", t)

        t = time.monotonic()
        ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._spawn("kube-apiserver", [
            f"--etcd-servers={etcd_url}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={ports['apiserver']}",
            f"--cert-dir={self.run_dir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}", f"--token-auth-file={pki.token_file}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--profiling=false",
            # Without the node-lifecycle controller nothing would lift the not-ready taint this
            # plugin puts on new nodes; kwok keeps the fake nodes Ready instead.
            "--disable-admission-plugins=TaintNodesByCondition",
        ])  # fmt: skip
        self._wait("kube-apiserver", lambda: _get(f"{server}/readyz", ctx, None) == 200, deadline)
        self._phase("kube-apiserver", t)

        t = time.monotonic()
        # No --authentication/authorization-kubeconfig for the controller-manager and scheduler:
        # their own secure ports (loopback) only serve /healthz here, which is always allowed.
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={component_kubeconfig['kcm']}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kcm']}",
            f"--cert-dir={self.run_dir / 'kcm-certs'}",
            f"--controllers={','.join(CONTROLLERS)}", "--use-service-account-credentials",
            f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_cert}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--profiling=false",
        ])  # fmt: skip
        self._spawn("kube-scheduler", [
            f"--kubeconfig={component_kubeconfig['scheduler']}", "--leader-elect=false",
            "--bind-address=127.0.0.1", f"--secure-port={ports['scheduler']}",
            f"--cert-dir={self.run_dir / 'scheduler-certs'}", "--profiling=false",
        ])  # fmt: skip
        kwok_config = self.run_dir / "components" / "kwok.yaml"
        kwok_config.write_text("")  # isolates kwok from a developer's ~/.kwok/kwok.yaml
        self._spawn("kwok", [
            f"--kubeconfig={component_kubeconfig['kwok']}", f"--config={kwok_config}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            f"--cidr={POD_CIDR}", "--node-ip=10.255.0.1",
            f"--server-address=127.0.0.1:{ports['kwok']}", "--node-lease-duration-seconds=40",
        ])  # fmt: skip
        for node in self.nodes:
            self._api("POST", "/api/v1/nodes", fake_node(node), ctx)
        for name, port in (("kube-controller-manager", "kcm"), ("kube-scheduler", "scheduler")):
            healthz = f"https://127.0.0.1:{ports[port]}/healthz"  # self-signed serving cert
            self._wait(name, lambda url=healthz: _get(url, False, None) == 200, deadline)
        self._wait("kwok (fake nodes Ready)", lambda: self._nodes_ready(ctx), deadline)
        self._wait(
            "kube-controller-manager (default ServiceAccount)",
            lambda: (
                self._api_status("/api/v1/namespaces/default/serviceaccounts/default", ctx) == 200
            ),
            deadline,
        )
        self._phase("controllers+nodes", t)

    def _spawn(self, name: str, args: list[str]) -> None:
        proc = ManagedProcess(
            f"cp-{name}",
            [str(self.bin_dir / name), *args],
            cwd=self.run_dir,
            die_with_parent=not self.detached,
        )
        self.procs[name] = proc
        link = self.run_dir / "logs" / f"{name}.log"
        link.unlink(missing_ok=True)
        link.symlink_to(proc.log_path)
        self.cluster.logs[name] = link

    def _wait(self, name: str, check: Any, deadline: float) -> None:
        proc = self.procs[name.split(" ")[0]]
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            proc.wait_ready(check, timeout=remaining)
        except (RuntimeError, TimeoutError) as exc:
            raise ControlPlaneError(f"{name} not ready: {str(exc).splitlines()[0]}") from exc

    def _api(self, method: str, path: str, body: dict[str, Any], ctx: ssl.SSLContext) -> None:
        response = httpx.request(
            method, self.cluster.server + path, json=body, verify=ctx, trust_env=False,
            headers={"Authorization": f"Bearer {self.cluster.admin_token}"}, timeout=10,
        )  # fmt: skip
        if response.status_code >= 300 and response.status_code != 409:
            raise ControlPlaneError(f"{method} {path}: {response.status_code} {response.text}")

    def _api_status(self, path: str, ctx: ssl.SSLContext) -> int:
        return _get(self.cluster.server + path, ctx, self.cluster.admin_token)

    def _nodes_ready(self, ctx: ssl.SSLContext) -> bool:
        try:
            response = httpx.get(
                f"{self.cluster.server}/api/v1/nodes", verify=ctx, trust_env=False, timeout=5,
                headers={"Authorization": f"Bearer {self.cluster.admin_token}"},
            )  # fmt: skip
        except httpx.HTTPError:
            return False
        ready = {
            item["metadata"]["name"]
            for item in response.json().get("items", [])
            for cond in item.get("status", {}).get("conditions", [])
            if cond["type"] == "Ready" and cond["status"] == "True"
        }
        return set(self.nodes) <= ready

    def _log_tails(self, lines: int = 25) -> str:
        return "\n".join(
            f"--- {name} log ({proc.log_path}) ---\n{proc.tail(lines)}"
            for name, proc in self.procs.items()
        )

    def _write_state(self) -> None:
        cluster = self.cluster
        state = {
            "server": cluster.server,
            "ca": str(cluster.ca_path),
            "kubeconfig": str(cluster.kubeconfig),
            "kubectl": cluster.kubectl_path,
            "users": cluster.users,
            "tokens": {"admin": cluster.admin_token, **cluster.user_tokens},
            "logs": {name: str(path) for name, path in cluster.logs.items()},
            "pids": self.pids(),
            "binaries": {name: str(self.bin_dir / name) for name in self.procs},
            "ports": self._ports,
            "nodes": self.nodes,
            "startup_seconds": round(self.startup_seconds or 0.0, 2),
            "phases": self.phases,
        }
        path = self.run_dir / "state.json"
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(state, indent=2) + "\n")


def _get(url: str, verify: ssl.SSLContext | bool | None, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(
            url, verify=verify if verify is not None else True, headers=headers, timeout=2,
            trust_env=False,
        ).status_code  # fmt: skip
    except httpx.HTTPError:
        return 0


def rss_of(pid: int) -> int:
    """Resident memory of a process in bytes (0 when it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def new_run_dir(prefix: str = "pytest", keep: int = 5) -> Path:
    """A fresh ``.cluster/<prefix>-<time>-<pid>`` dir. Finished runs (their pid is gone) beyond
    the newest ``keep`` are pruned; runs of live processes (parallel sessions) are never touched."""
    CLUSTER_ROOT.mkdir(parents=True, exist_ok=True)
    finished = [
        p for p in CLUSTER_ROOT.glob(f"{prefix}-*-*") if not _pid_alive(p.name.rsplit("-", 1)[-1])
    ]
    finished.sort(key=lambda p: p.stat().st_mtime)
    for stale in finished[: max(len(finished) - keep + 1, 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    run_dir = CLUSTER_ROOT / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run_dir.mkdir(exist_ok=True)
    return run_dir


def _pid_alive(pid: str) -> bool:
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


if __name__ == "__main__":
    from tests.harness.kube_cli import main

    raise SystemExit(main())
