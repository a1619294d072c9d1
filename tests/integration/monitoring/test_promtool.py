"""The chart's alert rules through Prometheus' own tooling: the chart rendered with helm (every
PrometheusRule, the opt-in no-signals rule switched on), ``promtool check rules`` on the result,
and ``promtool test rules`` (rules_test.yaml) to show each alert fires on the series it is
meant for and not on others. The dashboard's queries are checked by promtool too, wrapped as
recording rules.

promtool is built from the Go module proxy by hack/tools/promtool.sh (once, then cached); these
tests skip, saying so, where it is not built and Go is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.monitoring.sources import CHART, ROOT, dashboard, dashboard_exprs

HERE = Path(__file__).parent
#: The first run builds promtool (and helm) from Go modules: minutes, once per machine.
pytestmark = pytest.mark.timeout(1800)


def _tool(script: str, name: str) -> str:
    on_path = shutil.which(name)
    if on_path:
        return on_path
    built = subprocess.run(
        [str(ROOT / "hack" / "tools" / script)], capture_output=True, text=True, timeout=1800
    )
    if built.returncode == 3:
        pytest.skip(f"{name} is not installed and Go is missing to build it ({script})")
    assert built.returncode == 0, built.stderr[-2000:]
    return built.stdout.strip()


@pytest.fixture(scope="module")
def promtool() -> str:
    return _tool("promtool.sh", "promtool")


@pytest.fixture(scope="module")
def rendered_groups() -> list[dict[str, Any]]:
    helm = _tool("helm.sh", "helm")
    out = subprocess.run(
        [
            helm, "template", "fks", str(CHART), "--namespace", "fks-system",
            "--set", "monitoring.enabled=true",
            "--set", "monitoring.prometheusRule.noSignals.enabled=true",
            "--set", "monitoring.prometheusRule.noSignals.window=1h",
        ],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    rules = [doc for doc in yaml.safe_load_all(out) if doc and doc.get("kind") == "PrometheusRule"]
    assert len(rules) == 2  # the operator's and the executors'
    return [group for rule in rules for group in rule["spec"]["groups"]]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_chart_rules_pass_promtool_check(
    promtool: str, rendered_groups: list[dict[str, Any]], tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rendered_groups}))
    result = _run([promtool, "check", "rules", "rules.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(group["rules"]) for group in rendered_groups)
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_rules_file_passes_promtool_check_as_shipped(promtool: str) -> None:
    result = _run([promtool, "check", "rules", "files/executor-rules.yaml"], CHART)
    assert result.returncode == 0, result.stdout + result.stderr


#: Alerts whose rendered annotations rules_test.yaml checks word for word.
ANNOTATED = {"FksCircuitOpen", "FksNoSignals"}


def test_alerts_fire_on_the_series_they_are_for(
    promtool: str, rendered_groups: list[dict[str, Any]], tmp_path: Path
) -> None:
    groups = [
        {
            **group,
            "rules": [
                rule if rule.get("alert") in ANNOTATED else {**rule, "annotations": {}}
                for rule in group["rules"]
            ],
        }
        for group in rendered_groups
    ]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(HERE / "rules_test.yaml", tmp_path / "rules_test.yaml")
    result = _run([promtool, "test", "rules", "rules_test.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def _grafana_to_promql(expr: str) -> str:
    """Grafana's variables replaced by what they expand to for 'All'."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    return re.sub(r"\$\{?(\w+)(:\w+)?\}?", ".+", expr)


def test_dashboard_queries_parse(promtool: str, tmp_path: Path) -> None:
    records = [
        {"record": f"fks:dashboard:{index}", "expr": _grafana_to_promql(expr)}
        for index, (_, expr) in enumerate(dashboard_exprs(dashboard()))
    ]
    (tmp_path / "dashboard.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]})
    )
    result = _run([promtool, "check", "rules", "dashboard.yaml"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
