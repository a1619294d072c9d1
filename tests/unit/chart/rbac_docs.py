"""The operator's permission tables in the docs, read as RBAC rules.

docs/operator.md ("Permissions") and docs/install.md ("RBAC") each show the operator's
permissions as a Markdown table ``| API group | resources | verbs | why |``. tests/unit/chart
checks both equal the chart's rules; tests/integration/operator runs the operator with exactly
the rules of docs/operator.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.unit.chart.helm import REPO

OPERATOR_MD = REPO / "docs" / "operator.md"
INSTALL_MD = REPO / "docs" / "install.md"
#: Where each doc's table is: the heading (its start) it follows.
TABLES = {OPERATOR_MD: "### Permissions", INSTALL_MD: "## RBAC"}
#: Resources that are not namespaced: granted by a ClusterRole in every mode.
CLUSTER_SCOPED = frozenset({"customresourcedefinitions", "namespaces"})

Triple = tuple[str, str, str]  # (apiGroup, resource, verb)


@dataclass(frozen=True)
class Row:
    group: str  # "" for the core group
    resources: tuple[str, ...]
    verbs: tuple[str, ...]

    @property
    def cluster_scoped(self) -> bool:
        return bool(set(self.resources) & CLUSTER_SCOPED)

    def rule(self) -> dict[str, Any]:
        return {
            "apiGroups": [self.group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }


def _group(cell: str) -> str:
    text = cell.strip().strip("`")
    return "" if text in ("core", '""') else text


def table(path: Path) -> list[Row]:
    """The rows of the permissions table of ``path`` (an AssertionError when it is missing)."""
    heading = TABLES[path]
    lines = path.read_text().splitlines()
    at = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert at is not None, f"{path.name}: no {heading!r} section"
    after = lines[at + 1 :]
    start = next((i for i, line in enumerate(after) if line.startswith("| API group |")), None)
    assert start is not None, f"{path.name}: no '| API group |' table under {heading!r}"
    rows: list[Row] = []
    for line in after[start + 2 :]:  # header and |---| line
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"{path.name}: a row needs 4 cells: {line}"
        rows.append(
            Row(
                group=_group(cells[0]),
                resources=tuple(re.findall(r"`([a-z/]+)`", cells[1])),
                verbs=tuple(v.strip() for v in cells[2].split(",") if v.strip()),
            )
        )
    assert rows, f"{path.name}: the permissions table is empty"
    return rows


def triples(rows: Iterable[Row]) -> set[Triple]:
    return {(row.group, r, v) for row in rows for r in row.resources for v in row.verbs}
