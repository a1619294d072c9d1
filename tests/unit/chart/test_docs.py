"""docs/install.md documents every value of the chart (and nothing that does not exist), and
docs/operator.md every setting the chart passes to the operator."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.unit.chart.helm import CHART, REPO
from tests.unit.chart.test_render import known_operator_variables

INSTALL_MD = REPO / "docs" / "install.md"


def schema_leaves() -> set[str]:
    """Dotted paths of the values the schema describes, down to the free-form ones."""
    schema = json.loads((CHART / "values.schema.json").read_text())

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        return resolve(schema["definitions"][ref.rsplit("/", 1)[1]]) if ref else node

    leaves: set[str] = set()

    def walk(node: dict[str, Any], path: str) -> None:
        node = resolve(node)
        container_resources = path.split(".")[-1] == "resources"  # documented as a whole
        if (
            "properties" in node
            and node.get("additionalProperties") is False
            and not (container_resources)
        ):
            for key, child in node["properties"].items():
                walk(child, f"{path}.{key}" if path else key)
        else:
            leaves.add(path)

    walk(schema, "")
    leaves.discard("global")  # Helm's own, from a parent chart
    return leaves


def documented() -> set[str]:
    section = INSTALL_MD.read_text().split("## Values", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            keys.update(re.findall(r"`([A-Za-z][A-Za-z0-9.]*)`", first_cell))
    return keys


def test_every_value_is_documented() -> None:
    missing = schema_leaves() - documented()
    assert not missing, f"values not in docs/install.md's table: {sorted(missing)}"


def test_no_documented_value_is_made_up() -> None:
    extra = documented() - schema_leaves()
    assert not extra, f"docs/install.md documents values the chart does not have: {sorted(extra)}"


def test_operator_settings_table_lists_every_variable_the_operator_reads() -> None:
    """docs/operator.md's "Operator settings" table (the reference the chart's values point to)
    names exactly the FKS_OPERATOR_* variables the operator reads."""
    text = (REPO / "docs" / "operator.md").read_text()
    section = text.split("## Operator settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(FKS_OPERATOR_[A-Z_]+)` \|", section, re.M))
    known = known_operator_variables()
    assert len(known) >= 12
    assert documented == known, (
        f"not documented: {sorted(known - documented)}; not read: {sorted(documented - known)}"
    )
