"""spec.notifications (docs/notifications.md) as the operator sees it: parsed and checked like
the CRD checks it, rendered into the executor config WITHOUT the URL or token (only the
variable that holds it), wired from its Secret into the pod, hashed, watched, and a missing
Secret holding the pipeline with a condition that names it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from fks_executor.config import NOTIFICATION_EVENTS, parse_config
from fks_operator import references
from fks_operator.builders import build_children
from fks_operator.conditions import PipelineReason
from fks_operator.errors import SpecError
from fks_operator.readiness import pipeline_problems
from fks_operator.settings import OperatorSettings
from tests.unit.operator import crdschema
from tests.unit.operator.conftest import (
    account,
    accounts_by_name,
    b64,
    pipeline,
    pipeline_obj,
)
from tests.unit.operator.test_readiness import WEBHOOK, ready_verdicts

SETTINGS = OperatorSettings(executor_image="registry.example/fks-executor:1.2.3")
SLACK_URL = "https://hooks.slack.com/services/T0/B0/slack-s3cret"
BOT_TOKEN = "123456:telegram-s3cret"
NOTIFY = [
    {"name": "ops", "type": "slack", "secretRef": {"name": "fks-notify"}},
    {
        "name": "desk-tg",
        "type": "telegram",
        "secretRef": {"name": "fks-notify", "key": "token"},
        "chatId": "-1001234567890",
        "events": ["order_filled", "circuit_open"],
    },
]
SECRETS = {
    "btc-momentum-webhook": {"secret": b64("w" * 32)},
    "binance-testnet-keys": {"apiKey": b64("k"), "secret": b64("s")},
    "fks-notify": {"url": b64(SLACK_URL), "token": b64(BOT_TOKEN)},
}


def rendered(secrets: dict[str, Any] | None = None) -> Any:
    return build_children(
        pipeline(notifications=NOTIFY),
        accounts_by_name(account()),
        SETTINGS,
        SECRETS if secrets is None else secrets,
        service_monitor_api=True,
    )


def test_the_rendered_config_names_the_variable_never_the_value() -> None:
    children = rendered()
    text = children.config_map["data"]["config.yaml"]
    config = yaml.safe_load(text)
    assert config["notifications"] == [
        {
            "name": "ops",
            "type": "slack",
            "chatId": "",
            "events": [e for e in NOTIFICATION_EVENTS if e != "order_refused"],
            "endpoint": "",
            "secretEnv": "FKS_NOTIFY_OPS",
        },
        {
            "name": "desk-tg",
            "type": "telegram",
            "chatId": "-1001234567890",
            "events": ["order_filled", "circuit_open"],
            "endpoint": "",
            "secretEnv": "FKS_NOTIFY_DESK_TG",
        },
    ]
    parse_config(config)  # the executor loads it
    dumped = json.dumps(children.manifests())
    assert "s3cret" not in dumped
    assert b64(SLACK_URL) not in dumped
    assert b64(BOT_TOKEN) not in dumped


def test_the_pod_reads_each_url_or_token_from_its_secret() -> None:
    container = rendered().deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env["FKS_NOTIFY_OPS"] == {"name": "fks-notify", "key": "url"}
    assert env["FKS_NOTIFY_DESK_TG"] == {"name": "fks-notify", "key": "token"}


def test_a_new_url_or_token_rolls_the_pods() -> None:
    base = rendered().inputs_hash
    rotated = {**SECRETS, "fks-notify": {**SECRETS["fks-notify"], "token": b64("654321:new")}}
    assert rendered(rotated).inputs_hash != base
    unrelated = {**SECRETS, "fks-notify": {**SECRETS["fks-notify"], "other": b64("x")}}
    assert rendered(unrelated).inputs_hash == base


def test_a_missing_notification_secret_holds_the_pipeline_naming_it() -> None:
    p = pipeline(notifications=NOTIFY)
    accounts = accounts_by_name(account())
    verdicts = ready_verdicts("binance-testnet")
    ops, desk = pipeline_problems(p, accounts, verdicts, WEBHOOK)
    assert ops.reason == desk.reason == PipelineReason.SECRET_MISSING
    assert ops.message == "notification 'ops' Secret 'fks-notify' not found"
    assert desk.message == "notification 'desk-tg' Secret 'fks-notify' not found"
    no_token = {**WEBHOOK, "fks-notify": {"url": b64(SLACK_URL)}}
    [key] = pipeline_problems(p, accounts, verdicts, no_token)
    assert key.reason == PipelineReason.KEY_MISSING
    assert "'desk-tg'" in key.message
    assert "'token'" in key.message
    assert "s3cret" not in key.message
    both = {**WEBHOOK, "fks-notify": SECRETS["fks-notify"]}
    assert pipeline_problems(p, accounts, verdicts, both) == []


def test_the_secret_is_watched_for_the_pipeline() -> None:
    body = pipeline_obj(
        notifications=[*NOTIFY, {"name": "x", "type": "webhook", "secretRef": {"name": "hook"}}]
    )
    assert references.pipeline_secrets(body) == ["btc-momentum-webhook", "fks-notify", "hook"]
    assert references.pipeline_secrets(pipeline_obj(notifications="junk")) == [
        "btc-momentum-webhook"
    ]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"name": "t", "type": "telegram", "secretRef": {"name": "s"}}, "chatId"),
        (
            {"name": "s", "type": "slack", "secretRef": {"name": "s"}, "chatId": "-1"},
            "chatId",
        ),
        (
            {"name": "s", "type": "slack", "secretRef": {"name": "s"}, "endpoint": "http://x"},
            "endpoint",
        ),
        ({"name": "s", "type": "sms", "secretRef": {"name": "s"}}, "type"),
        ({"name": "s", "type": "slack", "secretRef": {"name": "s"}, "events": ["x"]}, "events"),
        ({"name": "s", "type": "slack"}, "secretRef"),
        ({"name": "Ops", "type": "slack", "secretRef": {"name": "s"}}, "name"),
    ],
)
def test_the_operator_refuses_what_the_crd_refuses(entry: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment):
        pipeline(notifications=[entry])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(SpecError, match="notification names must be unique"):
        pipeline(notifications=[NOTIFY[0], NOTIFY[0]])


def test_the_crd_carries_the_rules() -> None:
    spec = crdschema.schema("ExecutionPipeline")["properties"]["spec"]["properties"][
        "notifications"
    ]
    assert (spec["x-kubernetes-list-type"], spec["x-kubernetes-list-map-keys"]) == ("map", ["name"])
    item = spec["items"]
    rules = [r["rule"] for r in item["x-kubernetes-validations"]]
    assert any("telegram" in r and "chatId" in r for r in rules)
    assert item["properties"]["type"]["enum"] == ["slack", "discord", "telegram", "webhook"]
    assert item["properties"]["events"]["items"]["enum"] == list(NOTIFICATION_EVENTS)
    assert item["required"] == ["name", "type", "secretRef"]
