"""The pure parts of ``make demo`` (hack/demo_manifests.py): examples/ turned into the demo's
resources with only the intended substitutions, and the operator's real children (built by its
builders) turned into a local executor's env and config that the executor accepts."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hack import demo_manifests as dm

from fks_executor.config import parse_config, resolve_secrets
from fks_operator.builders import build_children
from fks_operator.settings import OperatorSettings
from fks_operator.specs import parse_account, parse_pipeline
from tests.unit.operator import crdschema

EXAMPLES = crdschema.ROOT / "examples"
ENDPOINT = "http://127.0.0.1:45678"
WEBHOOK_SECRET = "f" * 64


def manifests(examples: Path = EXAMPLES) -> list[dict[str, Any]]:
    return dm.demo_manifests(
        examples,
        namespace="fks-demo",
        endpoint=ENDPOINT,
        webhook_secret=WEBHOOK_SECRET,
        api_key="test-key",
        api_secret="test-secret",
    )


def originals() -> list[dict[str, Any]]:
    docs = []
    for name in (dm.ACCOUNT_FILE, dm.PIPELINE_FILE):
        docs += [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


# --- examples -> demo resources ----------------------------------------------------------------


def test_examples_become_the_demo_resources_with_three_substitutions() -> None:
    docs = manifests()
    assert [dm.describe(d) for d in docs] == [
        "Namespace/fks-demo",
        "Secret/binance-testnet-keys",
        "ExchangeAccount/binance-testnet",
        "Secret/btc-momentum-webhook",
        "ExecutionPipeline/btc-momentum",
    ]
    assert all(d["metadata"].get("namespace") == "fks-demo" for d in docs[1:])
    keys, account, webhook, pipeline = docs[1:]
    assert account["spec"]["endpoint"] == ENDPOINT
    assert keys["stringData"] == {"apiKey": "test-key", "secret": "test-secret"}
    assert webhook["stringData"] == {"secret": WEBHOOK_SECRET}
    # everything else is the example as users read it
    original = {dm.describe(d): d for d in originals()}
    for doc in docs[1:]:
        expected = copy.deepcopy(original[dm.describe(doc)])
        expected["metadata"]["namespace"] = "fks-demo"
        if doc["kind"] == "ExchangeAccount":
            expected["spec"]["endpoint"] = ENDPOINT
        if doc["kind"] == "Secret":
            expected["stringData"] = doc["stringData"]
        assert doc == expected
    assert pipeline["spec"]["dryRun"] is True
    for doc in (account, pipeline):
        crdschema.check(doc["kind"], doc)


def test_the_examples_are_not_modified() -> None:
    before = originals()
    manifests()
    assert originals() == before
    assert "fks-demo" not in (EXAMPLES / dm.ACCOUNT_FILE).read_text()


def write_examples(tmp_path: Path, account: str, pipeline: str) -> Path:
    (tmp_path / dm.ACCOUNT_FILE).write_text(account)
    (tmp_path / dm.PIPELINE_FILE).write_text(pipeline)
    return tmp_path


def test_only_placeholders_are_filled(tmp_path: Path) -> None:
    account = (EXAMPLES / dm.ACCOUNT_FILE).read_text()
    real_key = account.replace("replace-with-your-testnet-api-key", "AKIA-a-real-key")
    examples = write_examples(tmp_path, real_key, (EXAMPLES / dm.PIPELINE_FILE).read_text())
    message = "key 'apiKey' is not a replace-with-... placeholder"
    with pytest.raises(dm.DemoError, match=re.escape(message)):
        manifests(examples)


def test_a_pipeline_that_is_not_dry_run_is_refused(tmp_path: Path) -> None:
    pipeline = (EXAMPLES / dm.PIPELINE_FILE).read_text().replace("dryRun: true", "dryRun: false")
    examples = write_examples(tmp_path, (EXAMPLES / dm.ACCOUNT_FILE).read_text(), pipeline)
    with pytest.raises(dm.DemoError, match="must be dryRun: true"):
        manifests(examples)


def test_missing_or_broken_example_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(dm.DemoError, match=f"cannot read {tmp_path / dm.ACCOUNT_FILE}"):
        manifests(tmp_path)
    examples = write_examples(tmp_path, "kind: [unclosed", "")
    with pytest.raises(dm.DemoError, match="cannot read"):
        manifests(examples)
    examples = write_examples(tmp_path, "kind: ConfigMap\n", "")
    with pytest.raises(dm.DemoError, match="expected exactly one ExchangeAccount, found 0"):
        manifests(examples)


# --- the operator's children -> a local executor -----------------------------------------------


def operator_children() -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, str]]]:
    """ConfigMap and Deployment the operator's builders make of the demo resources, and the
    Secrets as the API server would hold them (decoded here)."""
    docs = manifests()
    secrets = {d["metadata"]["name"]: dict(d["stringData"]) for d in by_kind(docs, "Secret")}
    encoded = {
        name: {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        for name, data in secrets.items()
    }
    (account_doc,) = by_kind(docs, "ExchangeAccount")
    account = parse_account(account_doc)
    pipeline = parse_pipeline(by_kind(docs, "ExecutionPipeline")[0])
    children = build_children(
        pipeline, {account.name: account}, OperatorSettings(), encoded, service_monitor_api=False
    )
    return children.config_map, children.deployment, secrets


def reader(store: Mapping[str, Mapping[str, str]], kind: str) -> Any:
    def read(name: str) -> Mapping[str, str]:
        if name not in store:
            raise dm.DemoError(f"{kind} {name!r} not found")
        return store[name]

    return read


def test_env_and_config_from_the_operators_children_start_an_executor(tmp_path: Path) -> None:
    config_map, deployment, secrets = operator_children()
    env, origins = dm.executor_env(deployment, reader(secrets, "Secret"), reader({}, "ConfigMap"))
    assert env == {"FKS_WEBHOOK_SECRET": WEBHOOK_SECRET}  # dry-run: no trading keys
    assert origins == ["FKS_WEBHOOK_SECRET <- Secret btc-momentum-webhook, key secret"]
    assert WEBHOOK_SECRET not in "".join(origins)

    text, overrides = dm.local_config(
        config_map["data"]["config.yaml"],
        host="127.0.0.1",
        port=45000,
        journal_path=tmp_path / "journal.db",
    )
    assert overrides == [
        "listen 127.0.0.1:45000 (pod: 0.0.0.0:8000)",
        f"state.journalPath {tmp_path / 'journal.db'} (pod: /var/lib/fks/journal.db)",
    ]
    config = parse_config(yaml.safe_load(text))  # the executor accepts it
    assert (config.listen.host, config.listen.port) == ("127.0.0.1", 45000)
    assert config.state.journal_path == str(tmp_path / "journal.db")
    assert config.dry_run is True
    assert config.accounts[0].endpoint == ENDPOINT
    resolve_secrets(config, env)  # every secret the config names is in the env
    rendered = yaml.safe_load(config_map["data"]["config.yaml"])
    local = yaml.safe_load(text)
    for key in ("listen", "state"):
        rendered.pop(key)
        local.pop(key)
    assert local == rendered  # nothing else differs from what the operator rendered
    assert text.startswith("# fks demo: the config fks-operator rendered")


def deployment_with(env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "executor", "env": env}]}}},
    }


def test_env_sources_like_the_kubelet() -> None:
    deployment = deployment_with(
        [
            {"name": "PLAIN", "value": "1"},
            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "x", "key": "k",
                                                            "optional": True}}},
            {"name": "NOKEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "other",
                                                             "optional": True}}},
        ]
    )  # fmt: skip
    env, origins = dm.executor_env(
        deployment, reader({"s": {"k": "sv"}}, "Secret"), reader({"cm": {"k": "cv"}}, "ConfigMap")
    )
    assert env == {"PLAIN": "1", "FROM_CM": "cv", "S": "sv"}
    assert "sv" not in " ".join(origins)


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ({"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "nope"}}},
         "env A: Secret 's' has no key 'nope'"),
        ({"name": "B", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k"}}},
         "Secret 'missing' not found"),
        ({"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
         "env C: unsupported source"),
    ],
)  # fmt: skip
def test_env_that_cannot_be_resolved_says_which(var: dict[str, Any], message: str) -> None:
    with pytest.raises(dm.DemoError, match=message):
        dm.executor_env(
            deployment_with([var]), reader({"s": {"k": "v"}}, "Secret"), reader({}, "ConfigMap")
        )


def test_deployment_without_the_executor_container() -> None:
    deployment = {"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": []}}}}
    with pytest.raises(dm.DemoError, match="Deployment 'd' has no container 'executor'"):
        dm.container(deployment)


def test_rendered_config_that_is_not_a_mapping() -> None:
    with pytest.raises(dm.DemoError, match="not a mapping"):
        dm.local_config("- a\n", host="127.0.0.1", port=1, journal_path=Path("/j"))


# --- reading output and status -----------------------------------------------------------------


def test_audit_lines_are_picked_out_of_mixed_output() -> None:
    text = "\n".join(
        [
            "2026-01-01 INFO fks_executor: listening",
            '{"time":"t","signal_id":"a","decision":"accepted"}',
            '{"not": "audit"}',
            "{broken",
            '{"time":"t","signal_id":"a","decision":"dry_run"}',
        ]
    )
    assert [e["decision"] for e in dm.audit_lines(text)] == ["accepted", "dry_run"]


def test_condition_and_pod_lines() -> None:
    pipeline = {
        "status": {
            "conditions": [
                {"type": "Reconciled", "status": "True", "reason": "Applied"},
                {"type": "Ready", "status": "True", "reason": "ExecutorsReady",
                 "message": "1/1 executor pods ready"},
            ]
        }
    }  # fmt: skip
    assert dm.condition_line(pipeline) == "Ready=True ExecutorsReady: 1/1 executor pods ready"
    assert dm.condition_line({}) == "Ready: no status yet"
    pod = {
        "spec": {"nodeName": "kwok-node-1"},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert dm.pod_line(pod) == "Running, ready on kwok-node-1"
    assert dm.pod_line({}) == "Pending on (not scheduled)"


def test_render_answer_is_json_with_a_summary_line() -> None:
    answer = {
        "status": "dry_run",
        "reason": None,
        "signal_id": "s",
        "order": {"type": "market", "side": "buy", "amount": 0.0147, "symbol": "BTC/USDT",
                  "price": 68000.0, "status": "simulated"},
        "orders": [{"type": "stop_loss", "side": "sell", "amount": 0.0147, "symbol": "BTC/USDT",
                    "price": 66980.0, "status": "simulated"}],
    }  # fmt: skip
    text = dm.render_answer(answer)
    body, summary = text.rsplit("\n=> ", 1)
    assert json.loads(body) == answer
    assert summary == (
        "market buy 0.0147 BTC/USDT @ 68000.0 (simulated); "
        "stop_loss sell 0.0147 BTC/USDT @ 66980.0 (simulated)"
    )
    assert dm.render_answer({"status": "rejected", "order": None}) == (
        '{\n  "status": "rejected",\n  "order": null\n}'
    )
