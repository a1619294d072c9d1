"""Where the chart's dashboards and alert rules live, and their PromQL expressions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "fks-operator"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
EXECUTOR_RULES = CHART / "files" / "executor-rules.yaml"
TEMPLATES = CHART / "templates"
RULE_TEMPLATES = ("prometheusrule.yaml", "executor-prometheusrule.yaml")

_TEMPLATE_ACTION = re.compile(r"\{\{-?.*?-?\}\}")


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    out: list[dict[str, Any]] = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def dashboard_exprs(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable."""
    found = [
        (f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            inner = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", text)
            assert inner is not None, f"variable {variable['name']}: {text}"
            found.append((f"variable {variable['name']!r}", inner.group(1)))
    return found


def file_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(EXECUTOR_RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def template_exprs() -> list[tuple[str, str]]:
    """PromQL written inline in the chart's rule templates, with template actions removed.

    Good enough for name checks; the integration tier renders the chart with helm and runs
    promtool on the result.
    """
    found: list[tuple[str, str]] = []
    for name in RULE_TEMPLATES:
        lines = (TEMPLATES / name).read_text().splitlines()
        for index, line in enumerate(lines):
            match = re.match(r"^(\s*)expr:\s*(.*)$", line)
            if match is None:
                continue
            indent, first = len(match.group(1)), match.group(2)
            if first.strip() in ("|", ">", "|-", ">-"):
                body = []
                for follow in lines[index + 1 :]:
                    if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                        break
                    body.append(follow)
                text = "\n".join(body)
            else:
                text = first
            found.append((f"{name}:{index + 1}", _TEMPLATE_ACTION.sub("", text)))
    return found
