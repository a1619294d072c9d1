"""The operator's ccxt catalog (operator/fks_operator/ccxt_catalog.json) is the installed
ccxt's: same exchange ids, same sandboxes, by the executor's sandbox check. When this fails
after a ccxt upgrade: ``.venv/bin/python -m hack.ccxt_catalog``."""

from __future__ import annotations

import importlib.metadata
import json
import tomllib
from pathlib import Path

from hack.ccxt_catalog import derive
from packaging.requirements import Requirement

from fks_operator.accounts import CATALOG_PATH

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_the_catalog_file_is_the_installed_ccxts() -> None:
    stored = json.loads(CATALOG_PATH.read_text())
    installed = derive()
    assert stored["exchanges"] == installed["exchanges"], "run: python -m hack.ccxt_catalog"
    assert stored["sandboxes"] == installed["sandboxes"], "run: python -m hack.ccxt_catalog"


def test_the_executor_pins_the_ccxt_the_catalog_was_made_from() -> None:
    """The images install independently: a range would let the executor image get another ccxt
    than the one the operator image's catalog describes (docs/images.md)."""
    groups = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    [ccxt] = [r for r in map(Requirement, groups["executor"]) if r.name == "ccxt"]
    [spec] = ccxt.specifier
    stored = json.loads(CATALOG_PATH.read_text())["ccxt"]
    assert (spec.operator, spec.version) == ("==", stored), "pin ccxt==<catalog's version>"
    assert importlib.metadata.version("ccxt") == stored, "run: python -m hack.ccxt_catalog"
