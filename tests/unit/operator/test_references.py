"""Who uses which account and Secret, read from raw objects (malformed ones included)."""

from __future__ import annotations

from typing import Any

import pytest

from fks_operator import references
from tests.unit.operator.conftest import account_obj, pipeline_obj

REDIS = {"backend": "redis", "redisSecretRef": {"name": "fks-redis", "key": "url"}}


def test_pipeline_accounts_and_secrets() -> None:
    body = pipeline_obj(
        accounts=[{"name": "b"}, {"name": "a", "default": True}, {"name": "b"}], state=REDIS
    )
    assert references.pipeline_accounts(body) == ["a", "b"]
    assert references.pipeline_secrets(body) == ["btc-momentum-webhook", "fks-redis"]
    assert references.pipeline_secrets(pipeline_obj()) == ["btc-momentum-webhook"]


def test_memory_backend_does_not_reference_the_redis_secret() -> None:
    body = pipeline_obj(state={"backend": "memory", "redisSecretRef": {"name": "fks-redis"}})
    assert references.pipeline_secrets(body) == ["btc-momentum-webhook"]


@pytest.mark.parametrize(
    "spec",
    [None, "text", {"accounts": "x", "webhook": []}, {"accounts": [None, 3, {"name": ""}]}],
)
def test_malformed_specs_reference_nothing(spec: Any) -> None:
    body = {"metadata": {"name": "p"}, "spec": spec}
    assert references.pipeline_accounts(body) == []
    assert references.pipeline_secrets(body) == []
    assert references.account_secret(body) is None


def test_account_secret() -> None:
    assert references.account_secret(account_obj()) == "binance-testnet-keys"
    assert references.account_secret(account_obj(credentialsSecretRef=None)) is None


def test_owner_is_the_controlling_pipeline() -> None:
    ref = {"apiVersion": "execution.fks.io/v1alpha1", "kind": "ExecutionPipeline",
           "name": "btc", "uid": "u1", "controller": True}  # fmt: skip
    body = {"metadata": {"ownerReferences": [{**ref, "kind": "ReplicaSet", "name": "x"}, ref]}}
    assert references.owner_pipeline(body) == "btc"
    assert references.owner_uid(body) == "u1"
    not_controller = {"metadata": {"ownerReferences": [{**ref, "controller": False}]}}
    assert references.owner_pipeline(not_controller) is None
    other_group = {"metadata": {"ownerReferences": [{**ref, "apiVersion": "example.com/v1"}]}}
    assert references.owner_pipeline(other_group) is None
    assert references.owner_pipeline({"metadata": {}}) is None
