"""The tools of the kind e2e suite: kind, docker, kubectl, helm, as subprocesses.

Environment:

- ``FKS_E2E_KIND_CLUSTER``: use this existing kind cluster (not created, not deleted).
- ``FKS_E2E_KEEP=1``: keep the cluster the suite created (for debugging).
- ``FKS_E2E_BASE_IMAGE``: base image build arg of both Dockerfiles (no registry: see
  hack/docker/base-image.sh).
- ``FKS_E2E_SKIP_BUILD=1``: use ``fks-operator:e2e`` and ``fks-executor:e2e`` as already built.
- ``FKS_E2E_KIND``, ``FKS_E2E_KUBECTL``, ``FKS_E2E_HELM``, ``FKS_E2E_DOCKER``: tool paths.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
TAG = "e2e"
IMAGES = {"operator": f"fks-operator:{TAG}", "executor": f"fks-executor:{TAG}"}
T = TypeVar("T")


class CommandFailed(RuntimeError):
    pass


def tool(name: str) -> str | None:
    """Path of ``name`` from ``FKS_E2E_<NAME>`` or PATH; helm also from hack/tools/helm.sh."""
    override = os.environ.get(f"FKS_E2E_{name.upper()}")
    if override:
        return override if os.access(override, os.X_OK) else None
    found = shutil.which(name)
    if found is None and name == "helm":
        built = subprocess.run(
            [str(ROOT / "hack" / "tools" / "helm.sh")], capture_output=True, text=True
        )
        if built.returncode == 0 and built.stdout.strip():
            return built.stdout.strip()
    return found


def missing_tools() -> str | None:
    """Why the suite cannot run here (None when every tool is there)."""
    # helm last and only when the rest is there: without it on PATH, hack/tools/helm.sh builds
    # it from Go modules (minutes), which is pointless on a machine that cannot run kind.
    absent = [name for name in ("kind", "docker", "kubectl") if tool(name) is None]
    if not absent and tool("helm") is None:
        absent.append("helm")
    if absent:
        return (
            f"kind e2e needs {', '.join(absent)} on PATH (or FKS_E2E_<TOOL>); "
            "install kind and docker to run `make e2e`"
        )
    docker = tool("docker")
    assert docker is not None
    info = subprocess.run([docker, "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"docker is installed but its daemon does not answer: {_tail(info.stderr)}"
    return None


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


def create_cluster(workdir: Path) -> Cluster:
    """A kind cluster: FKS_E2E_KIND_CLUSTER's, or a new one (``CommandFailed`` when kind can't)."""
    kind, kubectl = tool("kind"), tool("kubectl")
    assert kind is not None
    assert kubectl is not None
    existing = os.environ.get("FKS_E2E_KIND_CLUSTER")
    name = existing or f"fks-e2e-{os.getpid()}"
    kubeconfig = workdir / "kubeconfig"
    if not existing:
        run([kind, "create", "cluster", "--name", name, "--wait", "120s"], timeout=600)
    config = run([kind, "get", "kubeconfig", "--name", name]).stdout
    kubeconfig.write_text(config)
    return Cluster(name, kubeconfig, created=not existing, _kubectl=kubectl)


def delete_cluster(cluster: Cluster) -> None:
    kind = tool("kind")
    if cluster.created and kind and os.environ.get("FKS_E2E_KEEP") != "1":
        run([kind, "delete", "cluster", "--name", cluster.name], timeout=300, check=False)


def build_and_load_images(cluster: Cluster) -> None:
    docker, kind = tool("docker"), tool("kind")
    assert docker is not None
    assert kind is not None
    if os.environ.get("FKS_E2E_SKIP_BUILD") != "1":
        base = os.environ.get("FKS_E2E_BASE_IMAGE")
        for part, image in IMAGES.items():
            args = [docker, "build", "-f", f"Dockerfile.{part}", "-t", image]
            if base:
                args += ["--build-arg", f"BASE_IMAGE={base}"]
            run([*args, "."], timeout=1200, env={"DOCKER_BUILDKIT": "1"})
    for image in IMAGES.values():
        run([kind, "load", "docker-image", image, "--name", cluster.name], timeout=600)


def install_chart(cluster: Cluster) -> None:
    helm = tool("helm")
    assert helm is not None
    run(
        [
            helm, "upgrade", "--install", "fks", "charts/fks-operator",
            "--kubeconfig", str(cluster.kubeconfig),
            "--namespace", cluster.release_namespace, "--create-namespace",
            "--set", "image.repository=fks-operator", "--set", f"image.tag={TAG}",
            "--set", "image.pullPolicy=Never",
            "--set", "executorImage.repository=fks-executor",
            "--set", f"executorImage.tag={TAG}",
            "--set", "executorImage.pullPolicy=Never",
            "--wait", "--timeout", "5m",
        ],
        timeout=420,
    )  # fmt: skip


_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


class PortForward:
    """``kubectl port-forward`` to a Service on a free local port; stopped by ``close``."""

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

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
