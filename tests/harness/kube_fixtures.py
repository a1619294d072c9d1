"""pytest plugin: the ``kube`` and ``namespace`` fixtures (API documented in controlplane.py).

Binaries are built (if missing) once after collection, outside any test's timeout and with the
build output shown on the terminal, but only when a collected test uses ``kube``.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.harness import kube_binaries
from tests.harness.controlplane import ControlPlane, ControlPlaneError, new_run_dir
from tests.harness.kube_cluster import KubeCluster

REUSE_ENV = "FKS_TEST_KUBECONFIG"
_build_problem = pytest.StashKey[kube_binaries.BinariesUnavailable | None]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if os.environ.get(REUSE_ENV) or not any(
        "kube" in getattr(i, "fixturenames", ()) for i in session.items
    ):
        return
    problem: kube_binaries.BinariesUnavailable | None = None
    if kube_binaries.missing():
        capture = session.config.pluginmanager.getplugin("capturemanager")
        try:
            with capture.global_and_fixture_disabled() if capture else _nothing():
                kube_binaries.ensure_built(sys.stderr)
        except kube_binaries.BinariesUnavailable as exc:
            problem = exc
    session.config.stash[_build_problem] = problem


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


@pytest.fixture(scope="session")
def kube(request: pytest.FixtureRequest) -> Iterator[KubeCluster]:
    """One real control plane per session (or the cluster named by FKS_TEST_KUBECONFIG)."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        try:
            cluster = KubeCluster.from_kubeconfig(Path(reuse))
            cluster.kubectl("get", "--raw=/readyz", timeout=15)
        except Exception as exc:
            pytest.fail(f"{REUSE_ENV}={reuse} is not a usable cluster: {exc}", pytrace=False)
        yield cluster
        cluster.close()
        return
    problem = request.config.stash.get(_build_problem, None)
    if problem is None and kube_binaries.missing():  # plugin hook did not run (e.g. -p no:...)
        try:
            kube_binaries.ensure_built(sys.stderr)
        except kube_binaries.BinariesUnavailable as exc:
            problem = exc
    if problem is not None:
        if problem.skip:
            pytest.skip(f"no Kubernetes control plane: {problem}")
        pytest.fail(f"cannot build the Kubernetes control plane: {problem}", pytrace=False)
    plane = ControlPlane(new_run_dir())
    try:
        cluster = plane.start()
    except ControlPlaneError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.close()
        plane.stop()


@pytest.fixture
def namespace(kube: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test; its ``default`` ServiceAccount exists before the test."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{secrets.token_hex(3)}"
    kube.kubectl("create", "namespace", name)
    kube.kubectl("label", "namespace", name, "fks.io/test=true")
    kube.wait_for(
        lambda: (
            kube.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode
            == 0
        ),
        timeout=30,
        what=f"ServiceAccount {name}/default (serviceaccount controller)",
    )
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    funcargs = getattr(item, "funcargs", {})
    cluster = funcargs.get("kube")
    if report.failed and isinstance(cluster, KubeCluster) and cluster.logs:
        paths = "\n".join(f"{name}: {path.resolve()}" for name, path in cluster.logs.items())
        report.sections.append(("control plane logs", f"{paths}\n\n{cluster.log_tails(lines=20)}"))
    return report
