"""examples/ are valid objects: against the CRD schemas, the typed models, and the executor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fks_executor.config import parse_config
from fks_operator.builders import build_children, referenced_secrets
from fks_operator.settings import OperatorSettings
from fks_operator.specs import parse_account, parse_pipeline
from tests.unit.operator import crdschema

EXAMPLES = crdschema.ROOT / "examples"


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def with_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "namespace": "trading"}}


def test_examples_exist_and_carry_no_namespace() -> None:
    names = {p.name for p in EXAMPLES.glob("*.yaml")}
    assert names == {
        "exchangeaccount-testnet.yaml",
        "pipeline-dry-run.yaml",
        "pipeline-exposed.yaml",
        "pipeline-redis-replicas.yaml",
    }
    for doc in documents():
        assert "namespace" not in doc["metadata"], doc["metadata"]["name"]


def test_custom_resources_validate_against_the_crds() -> None:
    kinds = [doc["kind"] for doc in documents()]
    assert kinds.count("ExchangeAccount") == 1
    assert kinds.count("ExecutionPipeline") == 3
    for doc in documents():
        if doc["kind"] in crdschema.CRD_FILES:
            assert doc["apiVersion"] == "execution.fks.io/v1alpha1"
            crdschema.check(doc["kind"], doc)


def test_examples_render_and_every_referenced_secret_is_shipped(tmp_path: Path) -> None:
    docs = documents()
    secrets = {
        doc["metadata"]["name"]: dict.fromkeys(doc.get("stringData", {}), "eA==")
        for doc in docs
        if doc["kind"] == "Secret"
    }
    accounts = {
        doc["metadata"]["name"]: parse_account(with_namespace(doc))
        for doc in docs
        if doc["kind"] == "ExchangeAccount"
    }
    for account in accounts.values():
        ref = account.spec.credentials_secret_ref
        assert ref is not None
        assert {ref.api_key_key, ref.secret_key} <= set(secrets[ref.name])
    pipelines = [
        parse_pipeline(with_namespace(d)) for d in docs if d["kind"] == "ExecutionPipeline"
    ]
    modes = set()
    for pipeline in pipelines:
        names = referenced_secrets(pipeline, accounts)
        assert set(names) <= set(secrets), f"{pipeline.name}: Secret not in examples"
        children = build_children(
            pipeline, accounts, OperatorSettings(), secrets, service_monitor_api=True
        )
        config = parse_config(yaml.safe_load(children.config_map["data"]["config.yaml"]))
        modes.add(config.mode)
        if pipeline.spec.replicas > 1:
            assert children.pdb is not None
    assert modes == {"dry-run", "testnet"}


def test_the_exposure_example_is_off_until_enabled_and_then_serves_only_the_webhook() -> None:
    [doc] = [d for d in documents() if d["metadata"]["name"] == "btc-public"]
    accounts = {
        d["metadata"]["name"]: parse_account(with_namespace(d))
        for d in documents()
        if d["kind"] == "ExchangeAccount"
    }
    off = parse_pipeline(with_namespace(doc))
    rendered = build_children(off, accounts, OperatorSettings(), {}, service_monitor_api=True)
    assert rendered.ingress is None, "needs a controller: off as shipped"
    assert rendered.network_policy is not None
    doc["spec"]["webhook"]["expose"]["ingress"]["enabled"] = True
    on = parse_pipeline(with_namespace(crdschema.check("ExecutionPipeline", doc)))
    ingress = build_children(on, accounts, OperatorSettings(), {}, service_monitor_api=True).ingress
    assert ingress is not None
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/webhook/tradingview", "Exact")
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod"
    }
