"""The harness itself: clean start/stop with no stray processes, the CLI behind make cluster-up,
attaching to a running cluster, and clear errors for bad input."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lightkube.resources.core_v1 import Node

from tests.harness import controlplane, kube_binaries
from tests.harness.controlplane import ControlPlane, ControlPlaneError, new_run_dir
from tests.harness.kube_cli import main as cli_main
from tests.harness.kube_cluster import KubeCluster, UnknownIdentity, meta
from tests.harness.procs import free_port

REPO = kube_binaries.REPO


def processes_mentioning(text: str) -> str:
    """``pgrep -af`` lines of processes whose command line contains ``text`` (not pgrep's own)."""
    result = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True, check=False)
    own = {str(os.getpid())}
    return "\n".join(
        line for line in result.stdout.splitlines() if line.split(" ", 1)[0] not in own
    )


def _pid_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def built(kube: KubeCluster) -> Path:
    """The binary dir, once the session plane proved the binaries work (skips like ``kube``)."""
    if os.environ.get("FKS_TEST_KUBECONFIG"):
        pytest.skip("starts its own control plane: not run against an existing cluster")
    return kube_binaries.bin_dir()


def test_plane_stops_cleanly_without_stray_processes(built: Path) -> None:
    run_dir = new_run_dir("lifecycle", keep=2)
    plane = ControlPlane(run_dir, nodes=1)
    with plane as cluster:
        pids = plane.pids()
        assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager",
                             "kube-scheduler", "kwok"}  # fmt: skip
        assert all(_pid_running(pid) for pid in pids.values())
        nodes = cluster.kubectl("get", "nodes", "-o", "name").stdout.split()
        assert nodes == ["node/kwok-node-0"]
        assert plane.startup_seconds is not None
        assert plane.startup_seconds < 90
        assert sum(plane.rss_bytes().values()) > 0
    still = {name: pid for name, pid in pids.items() if _pid_running(pid)}
    assert not still, f"processes left running after stop(): {still}"
    assert processes_mentioning(str(run_dir)) == ""
    assert not (run_dir / "etcd-data").exists()
    for name in pids:  # logs are kept for diagnosis
        assert (run_dir / "logs" / f"{name}.log").resolve().is_file()


def test_cli_up_status_down(built: Path) -> None:
    run_dir = new_run_dir("cli", keep=2)
    cli = [sys.executable, "-m", "tests.harness.controlplane"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args, f"--run-dir={run_dir}"], cwd=REPO, text=True,
                              capture_output=True, timeout=180, check=False)  # fmt: skip

    up = run("up", "--nodes=2")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"export KUBECONFIG={run_dir / 'kubeconfig'}" in up.stdout
        assert "memory (RSS, MiB): total" in up.stdout
        # `up` has exited; the plane keeps running detached, and `up` again reuses it.
        again = run("up")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" in again.stdout
        status = run("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "/readyz: 200" in status.stdout
        attached = KubeCluster.from_kubeconfig(run_dir / "kubeconfig")
        nodes = attached.kubectl("get", "nodes", "-o", "name").stdout.split()
        assert nodes == ["node/kwok-node-0", "node/kwok-node-1"]
        assert attached.users == ["alice", "bob"]
    finally:
        down = run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped" in down.stdout
    assert processes_mentioning(str(run_dir)) == ""
    status = run("status")
    assert status.returncode == 1
    assert "no control plane running" in status.stdout
    assert "no control plane was running" in run("down").stdout


def test_attach_to_running_cluster_by_kubeconfig(kube: KubeCluster) -> None:
    attached = KubeCluster.from_kubeconfig(kube.kubeconfig)
    assert (attached.server, attached.admin_token) == (kube.server, kube.admin_token)
    assert attached.token_for("alice") == kube.token_for("alice")
    who = attached.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert who.stdout == "admin"
    who = attached.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                           token=attached.token_for("bob"))  # fmt: skip
    assert who.stdout == "bob"


def test_unknown_identity_is_a_clear_error(kube: KubeCluster) -> None:
    with pytest.raises(
        UnknownIdentity, match=r"no token for user 'mallory'; known users: alice, bob"
    ):
        kube.token_for("mallory")


def test_cli_rejects_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["up", "--nodes=0"])
    assert exit_info.value.code == 2
    assert "--nodes and --runs must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["launch"])
    assert "invalid choice: 'launch'" in capsys.readouterr().err


def test_attaching_to_a_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        KubeCluster.from_kubeconfig(tmp_path / "nope")


def test_failed_start_reports_the_component_log_and_leaves_nothing_running(
    built: Path, tmp_path: Path
) -> None:
    bins = tmp_path / "bin"
    bins.mkdir()
    for name in kube_binaries.BINARIES:
        (bins / name).symlink_to(built / name)
    broken = bins / "kube-apiserver"
    broken.unlink()
    broken.write_text(
        "#!/bin/sh\necho 'E0101 cannot start: simulated apiserver failure' >&2\nexit 3\n"
    )
    broken.chmod(0o755)
    run_dir = new_run_dir("failed-start", keep=2)

    with pytest.raises(ControlPlaneError) as caught:
        ControlPlane(run_dir, bin_dir=bins).start(timeout=30)
    message = str(caught.value)
    assert "kube-apiserver not ready" in message
    assert "exited with 3" in message
    assert "simulated apiserver failure" in message  # the log tail is in the error
    assert processes_mentioning(str(run_dir)) == ""  # etcd, started first, was stopped


def test_start_retries_when_a_chosen_port_is_taken(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race (another process binds a port between free_port() and the component's bind)
    # cannot be provoked on demand, so the first port handed out is one we hold open.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        monkeypatch.setattr(controlplane, "free_port", lambda: next(ports, None) or free_port())
        run_dir = new_run_dir("port-retry", keep=2)
        plane = ControlPlane(run_dir, nodes=1)
        with plane as cluster:
            assert cluster.kubectl("get", "--raw=/readyz").stdout == "ok"
        assert len(plane.retries) == 1
        assert "etcd" in plane.retries[0]
        assert "address already in use" in plane.retries[0]
    assert processes_mentioning(str(run_dir)) == ""


def test_attach_to_a_foreign_style_kubeconfig(kube: KubeCluster, tmp_path: Path) -> None:
    """A kubeconfig with inline CA data and no state.json (as other tools write them)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {
            "server": kube.server,
            "certificate-authority-data": base64.b64encode(kube.ca_path.read_bytes()).decode(),
        }}],
        "users": [{"name": "u", "user": {"token": kube.admin_token}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }  # fmt: skip
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    attached = KubeCluster.from_kubeconfig(path)
    assert attached.kubectl("get", "--raw=/readyz").stdout == "ok"
    assert [meta(n).name for n in attached.client().list(Node)] == [
        meta(n).name for n in kube.client().list(Node)
    ]
    attached.close()
    with pytest.raises(UnknownIdentity, match="not started by the harness"):
        attached.token_for("alice")
