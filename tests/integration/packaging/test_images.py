"""The container images, built by hack/docker/build-images.sh (what `make images` runs) and run
the way the chart and the operator run them: read-only root filesystem, numeric non-root user,
no capabilities, no privilege escalation.

Needs a Docker engine (hack/docker/dockerd.sh starts Debian's dockerd where it can) and a base
image: $BASE_IMAGE when set (e.g. python:3.11-slim with registry access), else the local
Debian base from hack/docker/base-image.sh. Skipped, with the reason, where either is missing.
Images are built once per session; Docker's layer cache makes rebuilds of unchanged code fast.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import LOG_DIR, free_port
from tests.integration.packaging.conftest import apply_docs
from tests.unit.chart.helm import REPO, one, project_version, render

pytestmark = pytest.mark.timeout(1800)  # a cold build installs every dependency

LOCAL_BASE = "fks-local/python:3.11-bookworm"
#: On the local base (docs/images.md); on another base, what an image adds to it may be what it
#: adds to the local base (each image carries only its program's dependencies).
SIZE_BUDGET_MB = {"executor": 200, "operator": 150}
IDLE_RSS_BUDGET_MIB = 80  # the executor, dry-run, one Binance account (docs/executor.md)
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make", "ld", "as", "cpp")
CONFIG = """\
pipeline: image-smoke
dryRun: true
listen: {host: 0.0.0.0, port: 8000}
webhook: {auth: token, secretEnv: FKS_WEBHOOK_SECRET}
accounts:
  - {name: paper, exchange: binance, environment: testnet, marketType: spot}
risk: {sizing: {method: fixed-notional, notionalUSD: 50}, maxPositionSizeUSD: 1000}
state: {backend: memory, journalPath: /var/lib/fks/journal.db}
"""
#: How the operator's Deployment runs executor pods, in docker terms.
RESTRICTED = (
    "--read-only", "--user", "65532:65532", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges", "--tmpfs", "/tmp:size=64m",
)  # fmt: skip


@dataclass(frozen=True)
class Images:
    docker: str
    executor: str
    operator: str
    sizes_mb: dict[str, float]
    base: str = LOCAL_BASE

    def run(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.docker, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {result.returncode}\n{result.stderr}")
        return result

    def inspect(self, image: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.run("image", "inspect", image).stdout)[0]
        return found


def _script(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})}, cwd=REPO,
    )  # fmt: skip


@pytest.fixture(scope="session")
def images() -> Images:
    engine = _script(str(REPO / "hack/docker/dockerd.sh"), timeout=120)
    if engine.returncode == 3:
        pytest.skip(f"no Docker engine: {engine.stderr.strip()}")
    assert engine.returncode == 0, engine.stdout + engine.stderr
    docker = shutil.which("docker")
    assert docker, "dockerd.sh found an engine but no docker client is on PATH"

    base = os.environ.get("BASE_IMAGE")
    if not base:
        made = _script(str(REPO / "hack/docker/base-image.sh"), timeout=1800)
        if made.returncode != 0:
            pytest.skip(
                f"no base image: set BASE_IMAGE (e.g. python:3.11-slim) or let "
                f"hack/docker/base-image.sh build {LOCAL_BASE}: {made.stderr.strip()[-500:]}"
            )
        base = LOCAL_BASE

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"build-images-{os.getpid()}.log"
    started = time.monotonic()
    built = _script(str(REPO / "hack/docker/build-images.sh"), env={"BASE_IMAGE": base})
    prefix = os.environ.get("IMAGE_PREFIX", "")  # build-images.sh's too
    log.write_text(built.stdout + built.stderr)
    if built.returncode == 3:
        pytest.skip(f"cannot build images here: {built.stderr.strip()}")
    assert built.returncode == 0, f"build-images.sh failed (log {log}):\n{built.stderr[-3000:]}"
    version = project_version()
    handle = Images(
        docker, f"{prefix}fks-executor:{version}", f"{prefix}fks-operator:{version}", {}, base
    )
    for image in (handle.executor, handle.operator):
        handle.sizes_mb[image] = handle.inspect(image)["Size"] / 1e6
    sizes = ", ".join(f"{k} {v:.0f} MB" for k, v in handle.sizes_mb.items())
    print(
        f"\nimages built in {time.monotonic() - started:.0f}s from {base}: {sizes}", file=sys.stderr
    )
    return handle


def test_images_fit_their_size_budget(images: Images, record_property: Any) -> None:
    base_mb = images.inspect(images.base)["Size"] / 1e6
    local_mb = base_mb
    if images.base != LOCAL_BASE:  # judge what the image adds, at the local base's size
        local = images.run("image", "inspect", "--format", "{{.Size}}", LOCAL_BASE, check=False)
        local_mb = int(local.stdout) / 1e6 if local.returncode == 0 else 115.0
    for which in ("executor", "operator"):
        image = getattr(images, which)
        size = images.sizes_mb[image]
        record_property(f"size_mb[{image}]", round(size))
        print(f"{image}: {size:.0f} MB (base {images.base}: {base_mb:.0f} MB)")
        budget = SIZE_BUDGET_MB[which]
        assert size - base_mb + local_mb <= budget, f"{image} is {size:.0f} MB"


@pytest.mark.parametrize(
    ("which", "present", "absent"),
    [
        ("executor", ["ccxt", "starlette", "uvicorn"], ["kopf", "lightkube", "fks_operator"]),
        (
            "operator",
            ["kopf", "lightkube", "fks_executor.config", "fks_executor.validation"],
            ["ccxt", "starlette", "uvicorn", "fks_executor.app", "fks_executor.exchange"],
        ),
    ],
)
def test_each_image_carries_only_its_programs_dependencies(
    images: Images, which: str, present: list[str], absent: list[str]
) -> None:
    probe = (
        "import importlib.util, sys; "
        f"print(','.join(m for m in {present + absent!r} if importlib.util.find_spec(m)))"
    )
    found = images.run(
        "run", "--rm", *RESTRICTED, "--entrypoint", "python3", getattr(images, which), "-c", probe
    ).stdout.strip()  # fmt: skip
    assert found.split(",") == present


def test_executor_image_loads_the_supported_venues_but_not_all_of_ccxt(images: Images) -> None:
    """The image keeps ccxt's async exchange modules (all of them: any exchange still works),
    not the sync ones ``import ccxt`` needs: the executor imports classes one at a time."""
    probe = (
        "from fks_executor.ccxt_imports import exchange_class, lazy_packages\n"
        "lazy_packages()\n"
        "print([exchange_class(e).__name__ for e in ('binance', 'binanceusdm', 'bybit', 'okx')])\n"
    )
    ok = images.run(
        "run", "--rm", *RESTRICTED, "--entrypoint", "python3", images.executor, "-c", probe
    ).stdout.strip()  # fmt: skip
    assert ok == "['binance', 'binanceusdm', 'bybit', 'okx']"
    whole = images.run(
        "run", "--rm", *RESTRICTED, "--entrypoint", "python3", images.executor,
        "-c", "import ccxt", check=False,
    )  # fmt: skip
    assert whole.returncode == 1
    assert "ModuleNotFoundError" in whole.stderr


@pytest.mark.parametrize("which", ["executor", "operator"])
def test_image_runs_as_a_numeric_non_root_user_with_oci_labels(images: Images, which: str) -> None:
    config = images.inspect(getattr(images, which))["Config"]
    assert config["User"] == "65532:65532"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == f"fks {which}"
    assert labels["org.opencontainers.image.version"] == project_version()
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.description"]
    revision = labels["org.opencontainers.image.revision"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO)
    if head.returncode == 0:
        assert revision.removesuffix("-dirty") == head.stdout.strip()
    assert config["Entrypoint"] == [f"fks-{which}"]


@pytest.mark.parametrize("which", ["executor", "operator"])
def test_final_image_has_no_compilers_or_installers(images: Images, which: str) -> None:
    probe = " ; ".join(f"command -v {c}" for c in COMPILERS)
    probe += " ; ls /opt/fks/bin/pip /opt/fks/bin/pip3 2>/dev/null ; true"
    found = images.run(
        "run", "--rm", *RESTRICTED, "--entrypoint", "sh", getattr(images, which), "-c", probe
    ).stdout
    assert found.strip() == "", f"found in {which}: {found}"


def test_operator_image_prints_its_help(images: Images) -> None:
    result = images.run("run", "--rm", *RESTRICTED, images.operator, "--help")
    assert "usage: fks-operator" in result.stdout
    assert "FKS_OPERATOR_EXECUTOR_IMAGE" in result.stdout
    version = images.run("run", "--rm", *RESTRICTED, images.operator, "--version").stdout
    assert project_version() in version


def test_operator_image_without_credentials_says_so(images: Images) -> None:
    result = images.run("run", "--rm", *RESTRICTED, images.operator, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Kubernetes" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@dataclass(frozen=True)
class Container:
    url: str
    id: str


@pytest.fixture
def executor_container(images: Images, tmp_path: Path) -> Iterator[Container]:
    """The executor image in dry-run from a mounted config, run as the operator runs it; yields
    its base URL on loopback and its id."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text(CONFIG)
    config_dir.chmod(0o755)
    (config_dir / "config.yaml").chmod(0o644)
    port = free_port()
    container = images.run(
        "run", "--detach", *RESTRICTED,
        "--tmpfs", "/var/lib/fks:uid=65532,gid=65532,size=64m",
        "--volume", f"{config_dir}:/etc/fks:ro",
        "--env", "FKS_WEBHOOK_SECRET=image-smoke-secret-0123456789abcdef",
        "--publish", f"127.0.0.1:{port}:8000",
        images.executor,
    ).stdout.strip()  # fmt: skip
    try:
        yield Container(f"http://127.0.0.1:{port}", container)
    finally:
        logs = images.run("logs", container, check=False)
        images.run("rm", "--force", container, check=False)
        print(f"--- executor container log ---\n{logs.stdout}{logs.stderr}")


def test_executor_image_serves_health_and_ready_read_only(
    images: Images, executor_container: Container
) -> None:
    url = executor_container.url
    deadline = time.monotonic() + 60
    health: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{url}/health", timeout=2, trust_env=False)
            break
        except httpx.HTTPError:
            time.sleep(0.5)
    assert health is not None, "the executor never answered /health"
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = httpx.get(f"{url}/ready", timeout=5, trust_env=False)
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
    assert ready.json()["mode"] == "dry-run"
    assert ready.json()["checks"]["journal"] is True  # the tmpfs at /var/lib/fks is writable
    refused = httpx.post(
        f"{url}/webhook",
        json={
            "symbol": "BTCUSDT",
            "action": "buy",
            "timestamp": int(time.time()),
            "passphrase": "no",
        },
        timeout=5,
        trust_env=False,
    )
    assert refused.status_code == 401
    assert refused.json()["reason"] == "invalid_signature"
    metrics = httpx.get(f"{url}/metrics", timeout=5, trust_env=False).text
    assert "fks_webhook_requests_total" in metrics


def test_executor_image_idle_memory(images: Images, executor_container: Container) -> None:
    """Resident memory of the executor (PID 1), idle in dry-run with one Binance account."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{executor_container.url}/ready", timeout=2, trust_env=False).is_success:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    time.sleep(2)
    status = images.run("exec", executor_container.id, "cat", "/proc/1/status").stdout
    rss_mib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    rss_mib //= 1024
    print(f"executor image: RSS idle {rss_mib} MiB")
    assert rss_mib <= IDLE_RSS_BUDGET_MIB


def test_operator_image_reconciles_with_the_chart_rbac(
    images: Images,
    kube: KubeCluster,
    namespace: str,
    chart_crds: list[str],
) -> None:
    """The operator image itself, as the chart runs it (its env, its ServiceAccount's RBAC,
    read-only, non-root), reconciles the dry-run example on the local control plane."""
    fullname = f"fks-img-{namespace[-6:]}"
    docs = render({"fullnameOverride": fullname}, namespace=namespace)
    rbac = [
        d
        for d in docs
        if d.name == fullname and d.kind in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding")
    ]
    apply_docs(kube, [d.text for d in rbac])
    token = kube.service_account_token(namespace, fullname)
    # uid 65532 in the container must read it: a world-readable directory outside pytest's
    # private tmp_path, removed afterwards (the token is a short-lived test token)
    kube_dir = Path(tempfile.mkdtemp(prefix="fks-image-kube-"))
    kube_dir.chmod(0o755)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {
            "server": kube.server,
            "certificate-authority-data": base64.b64encode(kube.ca_path.read_bytes()).decode(),
        }}],
        "users": [{"name": fullname, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": fullname}}],
        "current-context": "sa",
    }  # fmt: skip
    (kube_dir / "config").write_text(yaml.safe_dump(config))
    (kube_dir / "config").chmod(0o644)
    container = one(docs, "Deployment").obj["spec"]["template"]["spec"]["containers"][0]
    env = [f"{e['name']}={e['value']}" for e in container["env"] if "value" in e]
    health = free_port()
    env += [f"FKS_OPERATOR_HEALTH_PORT={health}", f"FKS_OPERATOR_METRICS_PORT={free_port()}"]
    env += ["KUBECONFIG=/kube/config"]
    mounts = ["--volume", f"{kube_dir}:/kube:ro"]
    cid = images.run(
        "run", "--detach", *RESTRICTED, "--network", "host", *mounts,
        *[arg for e in env for arg in ("--env", e)], images.operator,
    ).stdout.strip()  # fmt: skip
    try:
        for example in ("exchangeaccount-testnet", "pipeline-dry-run"):
            kube.kubectl("apply", "-n", namespace, "-f", str(REPO / "examples" / f"{example}.yaml"))
        replaced = {"stringData": {"secret": secrets.token_hex(32)}}  # "replace it", as users do
        kube.kubectl(
            "patch", "-n", namespace, "secret", "btc-momentum-webhook", "-p", json.dumps(replaced)
        )

        def ready() -> bool:
            body = kube.kubectl_json("get", "executionpipeline", "btc-momentum", "-n", namespace)
            conditions = (body.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        kube.wait_for(
            ready, timeout=90, what="btc-momentum Ready, reconciled by the operator image",
            describe=lambda: images.run("logs", cid, check=False).stderr[-3000:],
        )  # fmt: skip
        assert httpx.get(f"http://127.0.0.1:{health}/healthz", timeout=5).status_code == 200
    finally:
        images.run("rm", "--force", cid, check=False)
        shutil.rmtree(kube_dir, ignore_errors=True)
        for doc in rbac:
            if doc.namespace is None:
                kube.kubectl(
                    "delete", doc.kind.lower(), doc.name, "--ignore-not-found", check=False
                )
