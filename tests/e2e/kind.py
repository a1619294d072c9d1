"""The tools of the kind e2e suite: docker, kind, kubectl, helm, as subprocesses (docs/kind.md).

Environment:

- ``FKS_KIND_NODE_IMAGE``: the kind node image, e.g. kind's published ``kindest/node:v1.34.0``
  (a machine that can pull). Unset: built here without pulling anything
  (hack/kind/node-image.sh, cached).
- ``FKS_E2E_BASE_IMAGE``: base image of the fks Dockerfiles. Unset: ``python:3.11-slim`` when
  ``FKS_KIND_NODE_IMAGE`` is set (a registry is reachable), else the local Debian base built by
  hack/docker/base-image.sh.
- ``FKS_E2E_KIND_CLUSTER``: use this existing kind cluster (not created, not deleted).
- ``FKS_E2E_KEEP=1``: keep the cluster the suite created (for debugging).
- ``FKS_E2E_SKIP_BUILD=1``: use the fks images as already built
  (``IMAGE_PREFIX=fks-e2e/ make images``).
- ``FKS_E2E_KIND``, ``FKS_E2E_KUBECTL``, ``FKS_E2E_HELM``: tool paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# make images' names with IMAGE_PREFIX=fks-e2e/: a developer's own fks-*:<version> stay untouched.
PREFIX = "fks-e2e/"
IMAGES = {part: f"{PREFIX}fks-{part}:{VERSION}" for part in ("operator", "executor")}
# The suite's own images (tests/e2e/images): the fake exchange and Redis, built the same way.
SUITE_IMAGES = {part: f"{PREFIX}fks-{part}:{VERSION}" for part in ("fake-exchange", "redis")}
LOCAL_BASE_IMAGE = "fks-local/python:3.11-bookworm"
KIND_CONFIG = Path(__file__).parent / "manifests" / "kind-cluster.yaml"
T = TypeVar("T")


class CommandFailed(RuntimeError):
    pass


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def run(
    args: Sequence[str],
    *,
    timeout: float = 300,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; ``CommandFailed`` with the tail of its output when it fails."""
    result = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        input=stdin,
        cwd=ROOT,
    )
    if check and result.returncode != 0:
        raise CommandFailed(
            f"{' '.join(args)} exited {result.returncode}: "
            f"{_tail(result.stderr or result.stdout, 20)}"
        )
    return result


def _script(path: str, *args: str, timeout: float = 3600) -> str:
    """The last stdout line of one of the project's scripts (``path`` relative to hack/)."""
    out = run([str(ROOT / "hack" / path), *args], timeout=timeout).stdout.strip()
    return out.splitlines()[-1] if out else ""


def tool(name: str) -> str | None:
    """``FKS_E2E_<NAME>``, else PATH; kind, kubectl and helm are built from Go modules if absent."""
    override = os.environ.get(f"FKS_E2E_{name.upper()}")
    if override:
        return override if os.access(override, os.X_OK) else None
    if name == "kubectl":  # the control plane's: the same version as the cluster
        bin_dir = Path(_script("control-plane/build.sh", "--print-bin-dir"))
        if (bin_dir / "kubectl").exists():
            return str(bin_dir / "kubectl")
    found = shutil.which(name)
    if found:
        return found
    builders = {"kind": "kind/kind.sh", "helm": "tools/helm.sh"}
    if name in builders:
        try:
            return _script(builders[name]) or None
        except CommandFailed:
            return None
    return None


def missing_tools() -> str | None:
    """Why the suite cannot run here (None when it can)."""
    override = os.environ.get("FKS_E2E_KIND")
    if override and not os.access(override, os.X_OK):
        return f"kind e2e needs kind: FKS_E2E_KIND={override} is not executable"
    engine = run([str(ROOT / "hack" / "docker" / "dockerd.sh")], check=False, timeout=120)
    if engine.returncode != 0:
        return f"kind e2e needs a Docker engine: {_tail(engine.stderr or engine.stdout)}"
    absent = [name for name in ("kind", "kubectl", "helm") if tool(name) is None]
    if absent:
        return f"kind e2e needs {', '.join(absent)} (on PATH, FKS_E2E_<TOOL>, or Go to build it)"
    return None


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 2) -> T:
    """Poll ``probe`` until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@dataclass
class Cluster:
    name: str
    kubeconfig: Path
    created: bool
    namespace: str = "fks-e2e"
    release_namespace: str = "fks-system"
    _kubectl: str = field(default="", repr=False)

    def kubectl(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run(
            [self._kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            **kwargs,  # type: ignore[arg-type]
        )

    def apply(self, path: Path | str, namespace: str | None = None) -> None:
        self.kubectl("-n", namespace or self.namespace, "apply", "-f", str(path))


def node_image() -> str:
    """``FKS_KIND_NODE_IMAGE``, or the node image built here (hack/kind/node-image.sh)."""
    return os.environ.get("FKS_KIND_NODE_IMAGE") or _script("kind/node-image.sh")


def create_cluster(workdir: Path) -> Cluster:
    """A kind cluster: FKS_E2E_KIND_CLUSTER's, or a new one from ``node_image()``."""
    kind, kubectl = tool("kind"), tool("kubectl")
    assert kind is not None
    assert kubectl is not None
    existing = os.environ.get("FKS_E2E_KIND_CLUSTER")
    name = existing or f"fks-e2e-{os.getpid()}"
    kubeconfig = workdir / "kubeconfig"
    if not existing:
        image = node_image()
        run(
            [
                kind, "create", "cluster", "--name", name, "--image", image,
                "--config", str(KIND_CONFIG), "--kubeconfig", str(kubeconfig), "--wait", "180s",
            ],
            timeout=600,
        )  # fmt: skip
    else:
        kubeconfig.write_text(run([kind, "get", "kubeconfig", "--name", name]).stdout)
    cluster = Cluster(name, kubeconfig, created=not existing, _kubectl=kubectl)
    _no_upstream_dns(cluster)
    return cluster


def _no_upstream_dns(cluster: Cluster) -> None:
    """CoreDNS answers cluster names only: names outside cluster.local are not forwarded.

    The suite's traffic stays inside the kind network; kubeadm's Corefile would forward every
    other name to the node's resolver (and from there off the machine).
    """
    corefile = cluster.kubectl(
        "-n", "kube-system", "get", "configmap", "coredns", "-o", "jsonpath={.data.Corefile}"
    ).stdout
    stripped = re.sub(r"\n\s*forward \. /etc/resolv\.conf \{[^}]*\}", "", corefile)
    if stripped != corefile:
        patch = {"data": {"Corefile": stripped}}
        cluster.kubectl(
            "-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge",
            "-p", json.dumps(patch),
        )  # fmt: skip
        cluster.kubectl("-n", "kube-system", "rollout", "restart", "deployment/coredns")
    cluster.kubectl(
        "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s",
        timeout=200,
    )  # fmt: skip


def delete_cluster(cluster: Cluster) -> None:
    kind = tool("kind")
    if cluster.created and kind and os.environ.get("FKS_E2E_KEEP") != "1":
        run([kind, "delete", "cluster", "--name", cluster.name], timeout=300, check=False)


def base_image() -> str:
    chosen = os.environ.get("FKS_E2E_BASE_IMAGE")
    if chosen:
        return chosen
    if os.environ.get("FKS_KIND_NODE_IMAGE"):
        return "python:3.11-slim"
    run([str(ROOT / "hack" / "docker" / "base-image.sh")], timeout=1800)
    return LOCAL_BASE_IMAGE


def build_and_load_images(cluster: Cluster) -> None:
    """``make images`` (hack/docker/build-images.sh), the same script for the suite's fake
    exchange and Redis images, then ``kind load docker-image``."""
    kind = tool("kind")
    assert kind is not None
    script = str(ROOT / "hack" / "docker" / "build-images.sh")
    base = base_image()
    env = {"BASE_IMAGE": base, "IMAGE_PREFIX": PREFIX}
    if os.environ.get("FKS_E2E_SKIP_BUILD") != "1":
        run([script], timeout=1800, env=env)
    suite = {"FKS_IMAGES": " ".join(SUITE_IMAGES), "DOCKERFILE_DIR": "tests/e2e/images"}
    run([script], timeout=1800, env={**env, **suite})
    loaded = [*IMAGES.values(), *SUITE_IMAGES.values()]
    run([kind, "load", "docker-image", *loaded, "--name", cluster.name], timeout=900)


def install_chart(cluster: Cluster) -> None:
    """``helm install`` with the chart's defaults but the images' repository (the tag is the
    chart's appVersion, the project version)."""
    helm = tool("helm")
    assert helm is not None
    run(
        [
            helm, "upgrade", "--install", "fks", "charts/fks-operator",
            "--kubeconfig", str(cluster.kubeconfig),
            "--namespace", cluster.release_namespace, "--create-namespace",
            "--set", f"image.repository={PREFIX}fks-operator",
            "--set", f"executorImage.repository={PREFIX}fks-executor",
            "--wait", "--timeout", "5m",
        ],
        timeout=420,
    )  # fmt: skip


_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


class PortForward:
    """``kubectl port-forward`` to a Service or pod on a free local port; stopped by ``close``."""

    def __init__(self, cluster: Cluster, target: str, port: int) -> None:
        self.process = subprocess.Popen(
            [
                cluster._kubectl, "--kubeconfig", str(cluster.kubeconfig),
                "-n", cluster.namespace, "port-forward", "--address", "127.0.0.1",
                target, f":{port}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = _FORWARDING.search(line)
        if match is None:
            self.close()
            raise CommandFailed(f"kubectl port-forward {target}: {line.strip()}")
        self.url = f"http://127.0.0.1:{match.group(1)}"
        # kubectl logs a line per connection: drain them so the pipe never fills.
        self._drain = threading.Thread(target=self.process.stdout.read, daemon=True)
        self._drain.start()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
