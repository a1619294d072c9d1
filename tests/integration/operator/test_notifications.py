"""spec.notifications through the real operator and API server: a missing notification Secret
holds the pipeline with a condition naming it (never a crash), and once it exists the pods
read the token from it by reference, the rendered config naming only the variable."""

from __future__ import annotations

import json

import yaml

from tests.integration.operator.conftest import Cluster, secret, setup_pipeline

TOKEN = "123456789:tg-s3cret-notify-token"
TELEGRAM = {
    "name": "desk",
    "type": "telegram",
    "secretRef": {"name": "notify", "key": "token"},
    "chatId": "-1001234567890",
    "events": ["order_filled", "circuit_open"],
}


def test_a_missing_notification_secret_holds_the_pipeline_until_it_exists(
    cluster: Cluster,
) -> None:
    setup_pipeline(cluster, notifications=[TELEGRAM])
    ready = cluster.wait_condition("executionpipeline", "pipe", "Ready", "False", "SecretMissing")
    assert "notification 'desk' Secret 'notify' not found" in ready["message"]
    cluster.wait(
        lambda: (
            (cluster.get("deployment", "pipe-executor") or {}).get("spec", {}).get("replicas") == 0
        ),
        "the Deployment held at 0 replicas",
    )

    cluster.apply(secret("notify", token=TOKEN))  # the operator watches the Secret
    cluster.wait_ready("pipe")
    deployment = cluster.get("deployment", "pipe-executor")
    assert deployment is not None
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"]}
    assert env["FKS_NOTIFY_DESK"] == {"name": "notify", "key": "token"}
    config_map = cluster.get("configmap", "pipe-executor-config")
    assert config_map is not None
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    (rendered,) = config["notifications"]
    assert (rendered["secretEnv"], rendered["chatId"]) == ("FKS_NOTIFY_DESK", "-1001234567890")
    pipeline = cluster.get("executionpipeline", "pipe")
    for text in (json.dumps(deployment), json.dumps(config_map), json.dumps(pipeline)):
        assert "s3cret" not in text
