"""Rendering charts/fks-operator with the real helm binary (hack/tools/helm.sh), for the chart's
unit tests and the packaging integration tests.

``VALUE_SETS`` are the values files every test renders: defaults, CRDs off, RBAC for two
namespaces, monitoring on, custom images/resources/scheduling. Renders are cached per
(values, release namespace), so a session runs helm once per combination.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "fks-operator"
CRDS = REPO / "crds"
HELM_SCRIPT = REPO / "hack" / "tools" / "helm.sh"
KUBE_VERSION = "1.34.0"
RELEASE = "fks-operator"
RELEASE_NAMESPACE = "fks-system"
FULLNAME = "fks-operator"  # the release name contains the chart name, so it is the full name

#: Namespaces of the per-namespace RBAC value set.
WATCHED = ("trading-a", "trading-b")

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "crds-disabled": {"crds": {"enabled": False}},
    "crds-not-kept": {"crds": {"keep": False}},
    "namespaced": {"watchNamespaces": [WATCHED[1], WATCHED[0]]},
    "monitoring": {
        "monitoring": {
            "enabled": True,
            "serviceMonitor": {"labels": {"release": "kube-prometheus-stack"}},
            "prometheusRule": {"labels": {"release": "kube-prometheus-stack"}},
        }
    },
    "custom": {
        "image": {
            "repository": "registry.example.com:5000/fks/fks-operator",
            "digest": "sha256:" + "ab" * 32,
            "pullPolicy": "Always",
        },
        "imagePullSecrets": ["regcred"],
        "executorImage": {
            "repository": "registry.example.com:5000/fks/fks-executor",
            "tag": "9.9.9",
        },
        "executor": {"resources": {"requests": {"cpu": "200m"}, "limits": {"memory": "1Gi"}}},
        "serviceAccount": {"name": "trading-operator", "annotations": {"team": "trading"}},
        "rbac": {"aggregateToDefaultRoles": False},
        "operator": {"logLevel": "DEBUG", "extraEnv": [{"name": "TZ", "value": "UTC"}]},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}
        ],
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [
                                {"key": "node-role", "operator": "In", "values": ["ops"]}
                            ]
                        },
                    }
                ]
            }
        },
        "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"example.com/owner": "trading"},
        "podLabels": {"example.com/tier": "control"},
    },
}


class HelmUnavailable(Exception):
    pass


@functools.cache
def helm_path() -> str:
    """The pinned helm binary (built from the Go module proxy the first time)."""
    result = subprocess.run(
        [str(HELM_SCRIPT)], capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode == 3:
        raise HelmUnavailable(result.stderr.strip() or "hack/tools/helm.sh: no helm")
    if result.returncode != 0:
        raise RuntimeError(f"hack/tools/helm.sh failed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def prebuild_helm(session: pytest.Session) -> None:
    """For pytest_collection_finish: get helm before the first test (a cold build takes minutes,
    once per machine), outside any test's timeout, with the build's progress on the terminal.
    Instant when helm is built already; a failure is left for the tests to report."""
    if session.config.option.collectonly or not session.items:
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return
    with capture.global_and_fixture_disabled():
        subprocess.run(
            [str(HELM_SCRIPT)], stdout=subprocess.DEVNULL, check=False, timeout=3600
        )  # progress goes to stderr


def helm_or_skip() -> str:
    try:
        return helm_path()
    except HelmUnavailable as exc:
        pytest.skip(f"no helm: {exc}")


def run_helm(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [helm_or_skip(), *args], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"helm {' '.join(args)} exited {result.returncode}:\n{_stderr(result)}"
        )
    return result


def _stderr(result: subprocess.CompletedProcess[str]) -> str:
    """helm's stderr without its note about the files/crds symlink (expected, see crds.yaml)."""
    return "\n".join(
        line for line in result.stderr.splitlines() if "found symbolic link in path" not in line
    ).strip()


def values_file(values: Mapping[str, Any]) -> Path:
    with tempfile.NamedTemporaryFile(
        "w", prefix="fks-values-", suffix=".yaml", delete=False, encoding="utf-8"
    ) as handle:
        yaml.safe_dump(dict(values), handle)
    return Path(handle.name)


@dataclass(frozen=True)
class Doc:
    """One rendered manifest: the template it came from, its text, and the parsed object."""

    source: str
    text: str
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        return self.obj["metadata"].get("namespace")


def split_docs(output: str) -> list[Doc]:
    """``helm template`` output as documents: each starts with ``---`` and ``# Source: ...``."""
    docs = []
    for chunk in output.split("\n---\n"):
        chunk = chunk.removeprefix("---\n")
        first, _, rest = chunk.partition("\n")
        if not first.startswith("# Source: "):
            if chunk.strip():
                raise AssertionError(f"unexpected helm output chunk: {chunk[:200]!r}")
            continue
        obj = yaml.safe_load(rest)
        if obj is None:
            continue
        docs.append(Doc(first.removeprefix("# Source: "), rest, obj))
    return docs


def render(
    values: Mapping[str, Any] | str = "defaults", *, namespace: str = RELEASE_NAMESPACE
) -> list[Doc]:
    """``helm template`` of the chart with a named value set (or a values mapping)."""
    mapping = VALUE_SETS[values] if isinstance(values, str) else values
    return list(_render(json.dumps(mapping, sort_keys=True), namespace))


@functools.cache
def _render(values_json: str, namespace: str) -> tuple[Doc, ...]:
    result = render_raw(json.loads(values_json), namespace=namespace)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed:\n{_stderr(result)}")
    return tuple(split_docs(result.stdout))


def render_raw(
    values: Mapping[str, Any], *, namespace: str = RELEASE_NAMESPACE, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    path = values_file(values)
    try:
        return run_helm(
            "template", RELEASE, str(CHART), "--namespace", namespace,
            "--kube-version", KUBE_VERSION, "--values", str(path), *extra,
            check=False,
        )  # fmt: skip
    finally:
        path.unlink(missing_ok=True)


def kinds(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.kind == kind]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = [d for d in kinds(docs, kind) if name is None or d.name == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d.name for d in found]}"
    return found[0]


def project_version() -> str:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    return str(data["project"]["version"])


def rbac_rules(docs: list[Doc]) -> Iterator[tuple[Doc, dict[str, Any]]]:
    """Every rule of every Role and ClusterRole."""
    for doc in docs:
        if doc.kind in ("Role", "ClusterRole"):
            for rule in doc.obj.get("rules") or []:
                yield doc, rule
