"""A pipeline whose webhook secret anyone could guess — shorter than 32 bytes, or a value
printed in examples/ or docs/ — is not run: WebhookSecretWeak, naming the Secret, never the
value. The lists of printed values (operator and executor) are kept complete here."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fks_executor.auth import EXAMPLE_SECRETS, secret_weakness
from fks_operator.conditions import PipelineReason
from fks_operator.readiness import EXAMPLE_WEBHOOK_SECRETS, pipeline_problems
from tests.unit.operator.conftest import account, accounts_by_name, pipeline
from tests.unit.operator.test_readiness import ready_verdicts

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = "replace-with-a-long-random-string"


def _problems(value: bytes) -> list[tuple[str, str]]:
    secrets = {"btc-momentum-webhook": {"secret": base64.b64encode(value).decode()}}
    found = pipeline_problems(
        pipeline(), accounts_by_name(account()), ready_verdicts("binance-testnet"), secrets
    )
    return [(p.reason, p.message) for p in found]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (PLACEHOLDER.encode(), "holds the example value from examples/ or docs/"),
        (PLACEHOLDER.encode() + b"\n", "holds the example value from examples/ or docs/"),
        (b"hook-secret-1", "is shorter than 32 bytes"),
        (b"x" * 31, "is shorter than 32 bytes"),
    ],
)
def test_a_guessable_webhook_secret_keeps_the_pipeline_from_running(value: bytes, why: str) -> None:
    [(reason, message)] = _problems(value)
    assert reason == PipelineReason.WEBHOOK_SECRET_WEAK
    assert message.startswith(f"webhook Secret 'btc-momentum-webhook' (key 'secret') {why}")
    assert value.decode().strip() not in message


def test_a_long_random_secret_is_fine() -> None:
    assert _problems(b"x" * 32) == []
    assert _problems(b"3f" * 32) == []


def _documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every YAML object in examples/ and in the yaml blocks of docs/*.md and README.md."""
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                yield path.name, doc
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for block in re.findall(r"```ya?ml\n(.*?)```", path.read_text(), re.S):
            try:
                docs = list(yaml.safe_load_all(block))
            except yaml.YAMLError:
                continue
            for doc in docs:
                if isinstance(doc, dict):
                    yield path.name, doc


def _printed_webhook_secrets() -> set[tuple[str, bytes]]:
    docs = list(_documents())
    refs = {
        (ref.get("name"), ref.get("key", "secret"))
        for _, doc in docs
        if doc.get("kind") == "ExecutionPipeline"
        for ref in [((doc.get("spec") or {}).get("webhook") or {}).get("secretRef") or {}]
    }
    found = set()
    for where, doc in docs:
        if doc.get("kind") != "Secret":
            continue
        name = (doc.get("metadata") or {}).get("name")
        for key, value in (doc.get("stringData") or {}).items():
            if (name, key) in refs or str(name).endswith("-webhook"):
                found.add((where, str(value).encode()))
    return found


def test_every_webhook_secret_printed_in_examples_or_docs_is_refused() -> None:
    printed = _printed_webhook_secrets()
    assert ("pipeline-dry-run.yaml", PLACEHOLDER.encode()) in printed  # the scan is not vacuous
    for where, value in printed:
        assert value.strip() in EXAMPLE_WEBHOOK_SECRETS, where
        assert secret_weakness(value.decode()) is not None, where


def test_operator_and_executor_refuse_the_same_values() -> None:
    assert EXAMPLE_SECRETS == EXAMPLE_WEBHOOK_SECRETS
