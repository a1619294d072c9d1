"""The three packages import under their own names (never a top-level ``operator``), and each
program imports only the dependencies declared for it (docs/images.md)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import operator
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


@pytest.mark.parametrize("name", ["fks_operator", "fks_executor", "fks_fake_exchange"])
def test_package_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None


def test_stdlib_operator_is_not_shadowed() -> None:
    assert hasattr(operator, "itemgetter")


# --- each program's dependencies (pyproject.toml: shared list + one optional group each) ---

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = {
    "executor": REPO / "executor/fks_executor",
    "operator": REPO / "operator/fks_operator",
    "fake-exchange": REPO / "fake-exchange/fks_fake_exchange",
}
OWN = {"fks_executor", "fks_operator", "fks_fake_exchange"}


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _declared(program: str) -> set[str]:
    project = _project()
    return _names(project["dependencies"]) | _names(project["optional-dependencies"][program])


def _imported_modules(package: Path) -> set[str]:
    """Top-level modules a package imports anywhere (module level or inside functions)."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - OWN - set(sys.stdlib_module_names)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_a_program_imports_only_its_declared_dependencies(program: str) -> None:
    """What a program imports comes from the shared list or its own group, so its image (which
    installs only those) has it; and nothing leaks in from another program's group."""
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module: distributions.get(module, ["?"])
        for module in _imported_modules(PROGRAMS[program])
        if not _names(distributions.get(module, [module])) & _declared(program)
    }
    assert not undeclared, f"{program} imports {undeclared}: declare them in pyproject.toml"


def _module_file(name: str) -> Path | None:
    """The source file of one of our own modules (``fks_executor.config`` -> its __init__)."""
    top, *rest = name.split(".")
    root = {"fks_executor": PROGRAMS["executor"], "fks_operator": PROGRAMS["operator"]}.get(top)
    if root is None:
        return None
    base = root.joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports_of(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports (``from a.b import c`` gives a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _executor_modules_the_operator_loads() -> dict[str, set[str]]:
    """fks_executor modules the operator imports, transitively (parent packages included, as
    Python runs them), each with the third-party modules it imports."""
    seen: dict[str, set[str]] = {}
    todo = [name for path in PROGRAMS["operator"].rglob("*.py") for name in _imports_of(path)]
    while todo:
        name = todo.pop()
        if not name.startswith("fks_executor") or name in seen:
            continue
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        path = _module_file(name)
        if path is None:  # a name imported from a module, not a module
            continue
        imported = _imports_of(path)
        seen[name] = {m.split(".")[0] for m in imported} - OWN - set(sys.stdlib_module_names)
        todo += sorted(imported)
    return seen


def test_what_the_operator_imports_from_the_executor_needs_only_its_dependencies() -> None:
    """The operator image installs ``.[operator]`` only (no ccxt, no starlette): the executor
    modules it shares (the config models, the error formatter) import nothing else."""
    loaded = _executor_modules_the_operator_loads()
    assert "fks_executor.config" in loaded  # the check below is not vacuous
    distributions = importlib.metadata.packages_distributions()
    undeclared = {
        module: sorted(third_party)
        for module, third_party in loaded.items()
        if any(not _names(distributions.get(m, [m])) & _declared("operator") for m in third_party)
    }
    assert not undeclared, f"the operator loads executor modules needing {undeclared}"


def test_the_operator_image_copies_every_executor_module_the_operator_loads() -> None:
    """Dockerfile.operator copies the executor's contract modules, not the executor: a module
    the operator starts to import must be added there (the build's smoke check would fail)."""
    copied = [
        path
        for line in (REPO / "Dockerfile.operator").read_text().splitlines()
        if line.startswith("COPY executor/")
        for path in line.split()[1:-1]
    ]
    for module in _executor_modules_the_operator_loads():
        path = _module_file(module)
        assert path is not None
        relative = str(path.relative_to(REPO))
        assert any(relative == c or relative.startswith(c.rstrip("/") + "/") for c in copied), (
            f"{relative} is imported by the operator but not copied into its image"
        )


def test_the_groups_split_the_heavy_dependencies() -> None:
    """The point of the split (docs/images.md): the operator image carries no ccxt, the
    executor image no kopf/lightkube nor the fake exchange's aiohttp server. (The operator's API
    client is aiohttp, which kopf's watches need anyway.)"""
    assert "ccxt" not in _declared("operator")
    assert not {"kopf", "lightkube"} & _declared("executor")
    assert "aiohttp" not in _declared("executor")
    groups = _project()["optional-dependencies"]
    assert groups["all"] == ["fks[executor,operator,fake-exchange]"]


@pytest.mark.parametrize("program", ["executor", "operator"])
def test_each_image_installs_its_group(program: str) -> None:
    dockerfile = (REPO / f"Dockerfile.{program}").read_text()
    assert f"pip install --quiet '.[{program}]'" in dockerfile
