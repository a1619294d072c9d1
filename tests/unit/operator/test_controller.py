"""Which watch events queue which reconciles (the controller's intake; no API calls happen here,
so the API client is a placeholder that fails if anything touches it)."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from fks_operator.accounts import StaticCatalog
from fks_operator.caches import ACCOUNTS, OPTIONAL_CRDS_INDEX, PIPELINES, child_index, child_record
from fks_operator.controller import Controller
from fks_operator.kube import CHILD_KINDS, DEPLOYMENT, KubeApi
from fks_operator.metrics import Metrics
from fks_operator.settings import OperatorSettings
from tests.unit.operator.conftest import account_obj, pipeline_obj

P = ("ExecutionPipeline", "trading", "btc-momentum")
A = ("ExchangeAccount", "trading", "binance-testnet")


class NoApi:
    """Stands in for KubeApi where the code under test must not call the API."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the intake called the API ({name})")


def indices() -> dict[str, dict[Any, list[Any]]]:
    """Empty watch caches, shaped like kopf's indices."""
    ids = [PIPELINES, ACCOUNTS, OPTIONAL_CRDS_INDEX, *(child_index(k) for k in CHILD_KINDS)]
    return {index: {} for index in ids}


def watched(controller: Controller, event: str | None, body: dict[str, Any]) -> None:
    """What kopf does for a child's watch event: update the index, then call the handler."""
    store = controller.ctx.cache._indices[child_index(DEPLOYMENT)]
    key = ("Deployment", body["metadata"]["namespace"], body["metadata"]["name"])
    if event == "DELETED":
        cast(dict[Any, Any], store).pop(key, None)
    else:
        cast(dict[Any, Any], store)[key] = [child_record(body, "fks-operator")]
    controller.child_event(event, body)


@pytest.fixture
async def controller() -> Controller:
    return Controller(
        cast(KubeApi, NoApi()),
        OperatorSettings(),
        catalog=StaticCatalog(frozenset(), frozenset()),
        metrics=Metrics(),
        indices=indices(),
    )


async def drain(controller: Controller) -> list[tuple[str, str, str]]:
    keys = []
    while len(controller.queue):
        key = await controller.queue.get()
        controller.queue.done(key)
        keys.append(key)
    return keys


async def test_pipeline_events_queue_on_spec_changes_only(controller: Controller) -> None:
    body = pipeline_obj()
    controller.pipeline_event(None, body)  # initial listing: always
    assert await drain(controller) == [P]
    status_only = copy.deepcopy(body)
    status_only["status"] = {"observedGeneration": 3}
    controller.pipeline_event("MODIFIED", status_only)  # the operator's own status write
    assert await drain(controller) == []
    changed = copy.deepcopy(body)
    changed["metadata"]["generation"] = 4
    controller.pipeline_event("MODIFIED", changed)
    assert await drain(controller) == [P]
    controller.pipeline_event(None, changed)  # a relist after a restart of the watch
    assert await drain(controller) == [P]
    controller.pipeline_event("DELETED", changed)
    assert await drain(controller) == []
    assert controller.stats()["pipelines"] == 0


async def test_account_events_queue_the_account_and_its_pipelines(controller: Controller) -> None:
    body = account_obj()
    controller.account_event(None, body, pipelines=["btc-momentum", "eth"])
    assert await drain(controller) == [A, P, ("ExecutionPipeline", "trading", "eth")]
    status_only = copy.deepcopy(body)
    status_only["status"] = {"observedGeneration": 1}
    controller.account_event("MODIFIED", status_only, pipelines=["btc-momentum"])
    assert await drain(controller) == []
    controller.account_event("DELETED", body, pipelines=["btc-momentum"])
    assert await drain(controller) == [P], "a pipeline whose account vanished must be held"


async def test_secret_events_queue_on_data_changes(controller: Controller) -> None:
    secret = {"metadata": {"name": "binance-testnet-keys", "namespace": "trading"},
              "data": {"apiKey": "YQ=="}}  # fmt: skip
    controller.secret_event(None, secret, accounts=["binance-testnet"], pipelines=["btc-momentum"])
    assert await drain(controller) == [A, P]
    annotated = copy.deepcopy(secret)
    annotated["metadata"]["annotations"] = {"team": "x"}
    controller.secret_event("MODIFIED", annotated, accounts=["binance-testnet"], pipelines=[])
    assert await drain(controller) == []
    rotated = copy.deepcopy(secret)
    rotated["data"]["apiKey"] = "Yg=="
    controller.secret_event("MODIFIED", rotated, accounts=["binance-testnet"], pipelines=[])
    assert await drain(controller) == [A]
    controller.secret_event("DELETED", rotated, accounts=[], pipelines=["btc-momentum"])
    assert await drain(controller) == [P]


def deployment(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "btc-momentum-executor", "namespace": "trading", "uid": "d1",
            "generation": 1, "managedFields": [],
            "ownerReferences": [{"apiVersion": "execution.fks.io/v1alpha1",
                                 "kind": "ExecutionPipeline", "name": "btc-momentum",
                                 "uid": "p1", "controller": True}],
            **meta,
        },
        "status": status,
    }  # fmt: skip


async def test_child_events_queue_the_owner(controller: Controller) -> None:
    watched(controller, None, deployment({}))
    assert await drain(controller) == [P]
    # The reconcile applies it; the echo of that apply is nothing new.
    key = ("Deployment", "trading", "btc-momentum-executor")
    controller.ctx.children.applied(key, "digest", deployment({}))
    watched(controller, "MODIFIED", deployment({}))
    assert await drain(controller) == []
    watched(controller, "MODIFIED", deployment({"readyReplicas": 1}))  # pods progressed
    assert await drain(controller) == [P]
    edited = deployment({"readyReplicas": 1}, generation=2)  # someone changed the spec
    watched(controller, "MODIFIED", edited)
    assert await drain(controller) == [P]
    watched(controller, "DELETED", deployment({"readyReplicas": 1}))
    assert await drain(controller) == [P]


async def test_a_child_without_owner_reference_is_found_by_its_label(
    controller: Controller,
) -> None:
    orphan = deployment(
        {}, ownerReferences=[], labels={"app.kubernetes.io/instance": "btc-momentum"}
    )
    watched(controller, "MODIFIED", orphan)
    assert await drain(controller) == [P]


async def test_an_optional_api_change_queues_everything(controller: Controller) -> None:
    controller.pipeline_event(None, pipeline_obj())
    controller.account_event(None, account_obj(), pipelines=[])
    await drain(controller)
    controller.optional_api_changed()
    assert sorted(await drain(controller)) == sorted([A, P])
