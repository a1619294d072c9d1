"""``fks-operator`` as a subprocess of the bench: start, stop, its metrics, memory and CPU."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from bench.operator_scale.objects import EXECUTOR_IMAGE
from tests.harness.controlplane import rss_of
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import REPO, ManagedProcess, free_port

PY_SPY = os.environ.get("PY_SPY", "py-spy")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OperatorProcess:
    """The operator with default settings (admin kubeconfig), watching every namespace."""

    def __init__(
        self, cluster: KubeCluster, resync_seconds: int = 600, profile: Path | None = None
    ) -> None:
        self.cluster = cluster
        self.resync_seconds = resync_seconds
        self.profile = profile
        self.metrics_port, self.health_port = free_port(), free_port()
        self.proc: ManagedProcess | None = None
        self._spy: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_OPERATOR_")}
        env.update(
            {
                "KUBECONFIG": str(self.cluster.kubeconfig),
                "FKS_OPERATOR_METRICS_PORT": str(self.metrics_port),
                "FKS_OPERATOR_HEALTH_PORT": str(self.health_port),
                "FKS_OPERATOR_EXECUTOR_IMAGE": EXECUTOR_IMAGE,
                "FKS_OPERATOR_LOG_LEVEL": "WARNING",
                "FKS_OPERATOR_RESYNC_SECONDS": str(self.resync_seconds),
            }
        )
        self.started_at = time.monotonic()
        self.proc = ManagedProcess(
            "fks-operator-bench", [sys.executable, "-m", "fks_operator"], env=env, cwd=REPO
        )
        if self.profile is not None:
            # py-spy (not a project dependency) samples until the operator exits, then writes
            # collapsed stacks (one line per stack, with its sample count).
            spy = [PY_SPY, "record", "--format", "raw", "--rate", "50", "-o", str(self.profile)]
            self._spy = subprocess.Popen(
                [*spy, "--pid", str(self.proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.proc.wait_ready(self._healthy, timeout=60)

    def _healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            return httpx.get(url, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(timeout=30)
            self.proc = None
        if self._spy is not None:
            self._spy.wait(timeout=60)
            self._spy = None

    def rss(self) -> int:
        return rss_of(self.proc.pid) if self.proc else 0

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc else 0.0

    def _metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        return httpx.get(url, timeout=5, trust_env=False).text

    def reconciles(self) -> float:
        """Pipeline reconciles so far, any result."""
        pattern = r'^fks_operator_reconcile_total\{kind="ExecutionPipeline",[^}]*\} (\S+)'
        return sum(float(m.group(1)) for m in re.finditer(pattern, self._metrics(), re.M))

    def requests(self) -> dict[str, float]:
        """API requests the reconcile loop made, by verb (from the operator's own metrics)."""
        text = self._metrics()
        totals: dict[str, float] = {}
        for match in re.finditer(
            r'^fks_operator_api_requests_total\{kind="[^"]*",result="[^"]*",verb="([^"]+)"\} (\S+)',
            text,
            re.M,
        ):
            totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
        return totals
