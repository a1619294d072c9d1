"""``fks-operator`` as a user runs it: --help, clear errors and exit 2 on bad settings, while
running a liveness endpoint and Prometheus metrics, and a prompt clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness.kube_cluster import KubeCluster
from tests.integration.operator.conftest import Cluster, Operator, setup_pipeline

REPO = Path(__file__).resolve().parents[3]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("FKS_OPERATOR_", "KUBECONFIG"))
    }
    base["HOME"] = str(REPO / ".logs")  # no ~/.kube/config of the developer
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fks_operator", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_help_lists_every_setting() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: fks-operator")
    for name in (
        "EXECUTOR_IMAGE",
        "NAMESPACES",
        "LOG_LEVEL",
        "METRICS_PORT",
        "HEALTH_PORT",
        "WORKERS",
        "RESYNC_SECONDS",
        "FIELD_MANAGER",
    ):
        assert f"FKS_OPERATOR_{name}" in result.stdout


def test_bad_setting_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    result = run(env={"FKS_OPERATOR_WORKERS": "lots", "KUBECONFIG": str(kubeconfig)})
    assert result.returncode == 2
    assert result.stderr == "fks-operator: FKS_OPERATOR_WORKERS: must be an integer, got 'lots'\n"
    assert "Traceback" not in result.stderr


def test_missing_credentials_is_a_clear_error(tmp_path: Path) -> None:
    result = run(env={"KUBECONFIG": str(tmp_path / "absent")})
    assert result.returncode == 2
    assert "no Kubernetes API credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_prints_a_summary(operator: Operator) -> None:
    result = run(
        "--check",
        env={
            "KUBECONFIG": operator.env["KUBECONFIG"],
            "FKS_OPERATOR_NAMESPACES": "trading,research",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "settings OK" in result.stdout
    assert "research, trading" in result.stdout
    assert "token" not in result.stdout.lower()


def test_liveness_and_metrics(cluster: Cluster, op: Operator) -> None:
    setup_pipeline(cluster)
    cluster.wait_ready("pipe")
    health = httpx.get(op.healthz, timeout=5, trust_env=False)
    assert health.status_code == 200
    assert "reconcile" in health.json()  # the probe reports the queue
    text = op.metrics()
    assert re.search(
        r'^fks_operator_reconcile_total\{kind="ExecutionPipeline",result="success"\} [1-9]',
        text,
        re.M,
    ), text
    assert re.search(
        r'^fks_operator_reconcile_total\{kind="ExchangeAccount",result="success"\}', text, re.M
    )
    assert re.search(r"^fks_operator_reconcile_duration_seconds_bucket\{", text, re.M)
    assert re.search(
        r'^fks_operator_api_requests_total\{kind="Deployment",result="ok",verb="apply"\}',
        text,
        re.M,
    )


#: kopf's shutdown waits up to 5 s for tasks it did not start (it then cancels them); the
#: operator's own shutdown ends its workers first and takes a fraction of a second. The bound
#: leaves room for a busy machine while still telling the two apart.
PROMPT_EXIT_SECONDS = 3.0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_it_promptly_and_cleanly(
    kube: KubeCluster, crds: None, namespace: str, signum: signal.Signals
) -> None:
    """A pod's termination (SIGTERM) or Ctrl-C (SIGINT) after real work: exit status 0 within
    a fraction of a second, not after kopf's 5 s wait for the reconcile workers."""
    own = Operator(kube)
    own.env["FKS_OPERATOR_NAMESPACES"] = namespace  # the package's operator handles the rest
    own.start()
    try:
        setup_pipeline(Cluster(kube, own, namespace))

        def reconciled() -> bool:
            stats = httpx.get(own.healthz, timeout=2, trust_env=False).json()["reconcile"]
            return bool(stats["reconciles"] >= 2 and stats["active"] == 0)

        kube.wait_for(reconciled, timeout=60, what="the account and pipeline reconciled")
        assert own.proc is not None
        started = time.monotonic()
        os.kill(own.proc.pid, signum)
        returncode = own.proc.proc.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        own.stop()
    log = own.log()
    assert returncode == 0, log[-3000:]
    assert elapsed < PROMPT_EXIT_SECONDS, f"took {elapsed:.2f}s to stop:\n{log[-3000:]}"
    assert log.rstrip().endswith("fks-operator stopped"), log[-3000:]
    assert "Traceback" not in log
    assert "Hung tasks" not in log  # kopf names the tasks it had to cancel
