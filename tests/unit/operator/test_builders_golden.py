"""Golden manifests: every child the operator renders for each variant, pinned in golden/.

After an intended change, regenerate and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/operator/test_builders_golden.py
    git diff tests/unit/operator/golden/
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
import yaml

from fks_operator.builders import build_children
from fks_operator.settings import OperatorSettings
from tests.unit.operator.variants import VARIANTS, Variant

GOLDEN = Path(__file__).parent / "golden"
SETTINGS = OperatorSettings(executor_image="registry.example/fks-executor:1.2.3")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the rendered config) as readable block literals."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(variant: Variant) -> str:
    children = build_children(
        variant.parsed_pipeline(),
        variant.parsed_accounts(),
        SETTINGS,
        variant.secrets,
        service_monitor_api=variant.service_monitor_api,
        http_route_api=variant.http_route_api,
    )
    header = f"# Golden children of variant {variant.name!r} (tests/unit/operator/variants.py).\n"
    if children.notes:
        header += "".join(f"# note: {note}\n" for note in children.notes)
    return header + yaml.dump_all(children.manifests(), Dumper=_Dumper, sort_keys=False, width=100)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_children_match_golden(variant: Variant) -> None:
    path = GOLDEN / f"{variant.name}.yaml"
    actual = render(variant)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    assert path.exists(), f"{path.name} missing: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_text()
    assert list(yaml.safe_load_all(expected)) == list(yaml.safe_load_all(actual))
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"golden/{path.name}",
                "rendered",
            )
        )
        pytest.fail(f"rendered children differ from golden (UPDATE_GOLDEN=1 to accept):\n{diff}")


def test_rendering_is_deterministic() -> None:
    for variant in VARIANTS:
        assert render(variant) == render(variant)


def test_no_orphan_golden_files() -> None:
    names = {f"{v.name}.yaml" for v in VARIANTS}
    assert {p.name for p in GOLDEN.glob("*.yaml")} <= names


def test_libyaml_renders_the_config_as_pure_python_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config is rendered with libyaml's emitter when PyYAML has it; an image without it
    falls back to the pure-Python one, which must give the same bytes (else a rollout)."""
    from fks_operator.builders import config

    assert config.YAML_DUMPER is yaml.CSafeDumper, "PyYAML without libyaml in the dev venv"
    for variant in VARIANTS:
        pipeline, accounts = variant.parsed_pipeline(), variant.parsed_accounts()
        fast = config.render_executor_config(pipeline, accounts)
        monkeypatch.setattr(config, "YAML_DUMPER", yaml.SafeDumper)
        assert config.render_executor_config(pipeline, accounts) == fast, variant.name
        monkeypatch.undo()
