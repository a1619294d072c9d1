"""The three packages import under their own names (never a top-level ``operator``)."""

from __future__ import annotations

import importlib
import operator

import pytest


@pytest.mark.parametrize("name", ["fks_operator", "fks_executor", "fks_fake_exchange"])
def test_package_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None


def test_stdlib_operator_is_not_shadowed() -> None:
    assert hasattr(operator, "itemgetter")
