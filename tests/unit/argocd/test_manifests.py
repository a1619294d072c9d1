"""deploy/argocd: the argocd-cm snippet embeds exactly the tested Lua files, and the Application
example is a well-formed Argo CD Application for the chart in this repository.

``UPDATE_GOLDEN=1`` rewrites deploy/argocd/argocd-cm.yaml from the Lua files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.argocd.lua import GROUP, KINDS, ROOT, script_path

ARGOCD_DIR = ROOT / "deploy" / "argocd"
SNIPPET = ARGOCD_DIR / "argocd-cm.yaml"
APPLICATION = ARGOCD_DIR / "application.yaml"
KEY = "resource.customizations.health.{group}_{kind}"

_HEADER = """\
# Argo CD health checks for the fks custom resources (docs/argocd.md).
# Merge into Argo CD's argocd-cm ConfigMap, e.g.
#   kubectl -n argocd patch configmap argocd-cm --type merge \\
#     --patch-file deploy/argocd/argocd-cm.yaml
# Generated from deploy/argocd/health/*.lua (the files the unit tests run):
#   UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/argocd
"""


def render_snippet() -> str:
    lines = [
        _HEADER.rstrip("\n"),
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: argocd-cm",
        "  namespace: argocd",
        "data:",
    ]
    for kind in KINDS:
        lines.append(f"  {KEY.format(group=GROUP, kind=kind)}: |")
        for line in script_path(kind).read_text().rstrip("\n").split("\n"):
            lines.append(f"    {line}" if line else "")
    return "\n".join(lines) + "\n"


def test_snippet_is_up_to_date() -> None:
    expected = render_snippet()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        SNIPPET.write_text(expected)
    assert SNIPPET.read_text() == expected, (
        "deploy/argocd/argocd-cm.yaml is stale: UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/argocd"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_snippet_embeds_the_tested_lua(kind: str) -> None:
    """What Argo CD reads from the ConfigMap is byte for byte the script the tests run."""
    doc = yaml.safe_load(SNIPPET.read_text())
    assert doc["kind"] == "ConfigMap"
    assert doc["metadata"]["name"] == "argocd-cm"
    embedded = doc["data"][KEY.format(group=GROUP, kind=kind)]
    assert embedded == script_path(kind).read_text()


def test_snippet_has_no_other_keys() -> None:
    doc = yaml.safe_load(SNIPPET.read_text())
    assert set(doc["data"]) == {KEY.format(group=GROUP, kind=kind) for kind in KINDS}


def _applications() -> dict[str, dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(APPLICATION.read_text()) if doc]
    return {doc["metadata"]["name"]: doc for doc in docs}


def test_application_example_is_the_chart_then_the_custom_resources() -> None:
    apps = _applications()
    assert list(apps) == ["fks-operator", "fks-trading"]
    for app in apps.values():
        assert app["apiVersion"] == "argoproj.io/v1alpha1"
        assert app["kind"] == "Application"
        assert app["spec"]["destination"]["namespace"]
        assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
    chart = apps["fks-operator"]["spec"]["source"]
    assert chart["path"] == "charts/fks-operator"
    assert chart["repoURL"].endswith(".git")
    assert chart["targetRevision"]

    def wave(app: dict[str, Any]) -> int:
        return int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    assert wave(apps["fks-operator"]) < wave(apps["fks-trading"])


def test_application_example_values_exist_in_the_chart() -> None:
    """Every key the example sets is a key of charts/fks-operator/values.yaml (the chart's
    schema refuses unknown keys, so a stale example would fail to sync)."""
    values = yaml.safe_load((ROOT / "charts" / "fks-operator" / "values.yaml").read_text())
    example = _applications()["fks-operator"]["spec"]["source"]["helm"]["valuesObject"]

    def walk(node: dict[str, Any], defaults: dict[str, Any], path: str) -> None:
        for key, value in node.items():
            assert key in defaults, f"{path}{key} is not a value of the chart"
            if isinstance(value, dict):
                walk(value, defaults[key], f"{path}{key}.")

    walk(example, values, "")
    assert example["monitoring"]["enabled"] is True


def test_application_example_has_no_ignore_differences() -> None:
    """The operator never writes spec, so nothing needs ignoring (docs/argocd.md)."""
    for app in _applications().values():
        assert "ignoreDifferences" not in app["spec"]


def test_health_dir_holds_one_script_per_kind() -> None:
    found = sorted(p.name for p in Path(script_path(KINDS[0])).parent.glob("*.lua"))
    assert found == sorted(f"{GROUP}_{kind}.lua" for kind in KINDS)
