"""crds/ is the output of ``make generate`` (hack/generate_crds.py) from the models in
operator/fks_operator/api/, byte for byte; the chart reads the same files (its files/crds is a
symlink to crds/, tests/unit/chart/test_crds.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from hack import generate_crds
from pydantic import Field

from fks_executor.config import RiskConfig, Venue, WebhookPolicy
from fks_executor.config.types import ContractModel, CrdSchema
from fks_operator.api.account import ExchangeAccountSpec
from fks_operator.api.crds import CRDS
from fks_operator.api.pipeline import ExecutionPipelineSpec, Webhook
from fks_operator.api.schema import structural_schema


@pytest.mark.parametrize("path", sorted(generate_crds.generated()), ids=lambda p: p.name)
def test_crd_files_are_the_generated_output(path: Path) -> None:
    expected = generate_crds.generated()[path]
    assert path.read_text(encoding="utf-8") == expected, f"{path.name}: run make generate"


def test_generate_check_reports_a_hand_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--check`` fails naming the file a person edited by hand; a plain run restores it."""
    monkeypatch.setattr(generate_crds, "ROOT", tmp_path)
    monkeypatch.setattr(generate_crds, "CRD_DIR", tmp_path)
    assert generate_crds.main([]) == 0
    assert generate_crds.main(["--check"]) == 0
    edited = tmp_path / CRDS[0].file_name
    edited.write_text(edited.read_text().replace("maxLength: 64", "maxLength: 65", 1))
    assert generate_crds.main(["--check"]) == 1
    assert CRDS[0].file_name in capsys.readouterr().out
    assert generate_crds.main([]) == 0
    assert generate_crds.main(["--check"]) == 0


def test_the_crd_and_the_executor_share_one_definition_per_field() -> None:
    """Fields the executor reads are the executor config's own models, not copies."""
    spec = ExecutionPipelineSpec.model_fields
    assert spec["risk"].annotation is RiskConfig
    assert issubclass(Webhook, WebhookPolicy)
    assert issubclass(ExchangeAccountSpec, Venue)


class _Nested(ContractModel):
    """A nested object."""

    size: float = Field(default=1, gt=0, le=10)
    """How big."""


class _Sample(ContractModel):
    """A sample."""

    nested: _Nested = Field(default_factory=_Nested)
    names: tuple[str, ...] = Field(default=(), max_length=3, strict=False)
    """Names."""
    optional: int | None = Field(None, ge=1)
    """Unset: none."""


def test_schema_conversion_rules() -> None:
    """What the generator does to pydantic's JSON schema (docs/crds.md#adding-a-field)."""
    schema = structural_schema(_Sample)
    props = schema["properties"]
    assert schema["type"] == "object"
    assert "additionalProperties" not in schema
    assert "title" not in schema
    assert props["nested"] == {
        "type": "object",
        "description": "A nested object.",
        "default": {},
        "properties": {
            "size": {
                "type": "number",
                "description": "How big. Default: 1.",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 10,
                "default": 1,
            }
        },
    }
    assert props["names"] == {
        "type": "array",
        "description": "Names.",
        "maxItems": 3,
        "default": [],
        "items": {"type": "string"},
    }
    assert props["optional"] == {"type": "integer", "description": "Unset: none.", "minimum": 1}
    assert "required" not in schema


def test_crd_only_schema_is_not_checked_in_python() -> None:
    """``CrdSchema`` bounds what the API server takes, not what the executor's config takes
    (the benchmarks run with a rate limit past the CRD's maximum)."""

    class Limited(ContractModel):
        rate: Annotated[int, CrdSchema(maximum=100)] = Field(default=1, ge=1)
        """Rate."""

    assert Limited(rate=1000).rate == 1000
    rate = structural_schema(Limited)["properties"]["rate"]
    assert (rate["minimum"], rate["maximum"]) == (1, 100)


def test_an_unknown_schema_key_stops_the_generator() -> None:
    """A pydantic feature the generator does not translate fails loudly, not silently."""

    class Odd(ContractModel):
        value: int = Field(default=0, multiple_of=5)
        """Odd."""

    with pytest.raises(ValueError, match="multipleOf"):
        structural_schema(Odd)
