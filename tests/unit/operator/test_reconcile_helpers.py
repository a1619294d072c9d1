"""Pure decisions of the reconcile loop: status patches only on change, which transitions become
Events, when an account switch to live is announced, and optional-API discovery caching."""

from __future__ import annotations

from typing import Any

from fks_operator.discovery import OPTIONAL_CRDS, ApiDiscovery, crd_serves
from fks_operator.kube import HTTP_ROUTE, INGRESS, SERVICE_MONITOR
from fks_operator.live import LiveSwitches
from fks_operator.notices import live_notice_for_pipeline, transition_notices
from fks_operator.reconcile import status_patch
from tests.unit.operator.conftest import account, pipeline_obj


def cond(type_: str, status: str, reason: str, message: str = "m") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "observedGeneration": 1, "lastTransitionTime": "2025-01-01T00:00:00Z"}  # fmt: skip


def test_status_patch_is_none_when_nothing_changed() -> None:
    status = {
        "observedGeneration": 2,
        "mode": "testnet",
        "conditions": [cond("Ready", "True", "X")],
    }
    assert status_patch(dict(status), status) is None


def test_status_patch_removes_keys_with_null() -> None:
    previous = {"observedGeneration": 1, "configHash": "abc", "kopf": {"progress": {}}}
    patch = status_patch(previous, {"observedGeneration": 2})
    assert patch == {"observedGeneration": 2, "configHash": None, "kopf": None}


def test_a_new_problem_is_a_warning_once() -> None:
    ok = [cond("Reconciled", "True", "Applied"), cond("Ready", "True", "ExecutorsReady")]
    missing = [cond("Reconciled", "False", "AccountMissing", "gone"),
               cond("Ready", "False", "AccountMissing", "gone")]  # fmt: skip
    [notice] = transition_notices(ok, missing)
    assert (notice.type, notice.reason, notice.message) == ("Warning", "AccountMissing", "gone")
    assert transition_notices(missing, missing) == []
    other = [cond("Reconciled", "False", "KeyMissing"), cond("Ready", "False", "KeyMissing")]
    assert [n.reason for n in transition_notices(missing, other)] == ["KeyMissing"]


def test_becoming_ready_is_a_normal_event() -> None:
    rolling = [cond("Reconciled", "True", "Applied"), cond("Ready", "False", "RolloutInProgress")]
    ready = [cond("Reconciled", "True", "Applied"), cond("Ready", "True", "ExecutorsReady", "1/1")]
    [notice] = transition_notices(rolling, ready)
    assert (notice.type, notice.reason, notice.message) == ("Normal", "ExecutorsReady", "1/1")
    assert transition_notices(ready, ready) == []
    assert [n.type for n in transition_notices(None, ready)] == ["Normal"]


def test_live_notice_says_whether_money_is_at_stake() -> None:
    live = account(environment="live", acknowledgeLiveTrading=True)
    trading = live_notice_for_pipeline(live, pipeline_obj())
    assert trading.type == "Warning"
    assert trading.reason == "LiveTradingEnabled"
    assert "real money" in trading.message
    assert "'binance-testnet'" in trading.message
    assert "dry-run" in live_notice_for_pipeline(live, pipeline_obj(dryRun=True)).message


def test_switch_to_live_is_announced_once_per_switch() -> None:
    switches = LiveSwitches()
    testnet = account().spec
    live = account(environment="live", acknowledgeLiveTrading=True).spec
    assert not switches.check("u", testnet, generation=1, observed_generation=0)
    switches.record("u", testnet)
    assert switches.check("u", live, generation=2, observed_generation=1)
    switches.record("u", live)
    assert not switches.check("u", live, generation=3, observed_generation=2)
    switches.record("u", testnet)
    assert switches.check("u", live, generation=5, observed_generation=4)


def test_after_a_restart_processed_accounts_are_not_announced_again() -> None:
    live = account(environment="live", acknowledgeLiveTrading=True).spec
    assert not LiveSwitches().check("u", live, generation=4, observed_generation=4)
    # Changed while no operator ran (or created live): announced, at worst once more.
    assert LiveSwitches().check("u", live, generation=5, observed_generation=4)
    assert LiveSwitches().check("u", live, generation=1, observed_generation=0)
    switches = LiveSwitches()
    switches.record("u", live)
    switches.forget("u")
    assert switches.check("u", live, generation=1, observed_generation=0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_discovery_follows_the_crds_and_a_refusal_lasts_the_ttl() -> None:
    installed = {SERVICE_MONITOR: False, HTTP_ROUTE: True}
    clock = Clock()
    discovery = ApiDiscovery(installed.__getitem__, ttl=30, clock=clock)
    assert discovery.served(SERVICE_MONITOR, "a") is False
    assert discovery.served(HTTP_ROUTE, "a") is True, "each kind has its own answer"
    installed[SERVICE_MONITOR] = True  # its CRD appeared (watch event)
    assert discovery.served(SERVICE_MONITOR, "a") is True, "at once, no TTL"
    discovery.refused(SERVICE_MONITOR, "a")  # e.g. 403 in that namespace
    assert discovery.served(SERVICE_MONITOR, "a") is False
    assert discovery.served(SERVICE_MONITOR, "b") is True, "only in that namespace"
    clock.now += 31
    assert discovery.served(SERVICE_MONITOR, "a") is True, "tried again after the TTL"
    discovery.refused(SERVICE_MONITOR, "a")
    discovery.invalidate()  # a CRD changed
    assert discovery.served(SERVICE_MONITOR, "a") is True


def crd(name: str, *, version: str = "v1", established: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"versions": [{"name": version, "served": True}]},
        "status": {"conditions": [{"type": "Established", "status": str(established)}]},
    }


def test_a_crd_serves_its_kind_once_established_with_the_version_written() -> None:
    assert crd_serves(crd("httproutes.gateway.networking.k8s.io"))
    assert not crd_serves(crd("httproutes.gateway.networking.k8s.io", established=False))
    assert not crd_serves(crd("httproutes.gateway.networking.k8s.io", version="v1beta1"))
    assert not crd_serves(crd("widgets.example.com"))


def test_the_optional_crds_are_the_ones_the_operator_watches_for() -> None:
    assert OPTIONAL_CRDS == {
        "servicemonitors.monitoring.coreos.com": SERVICE_MONITOR,
        "httproutes.gateway.networking.k8s.io": HTTP_ROUTE,
    }


def test_a_snapshot_answers_for_every_kind_of_child() -> None:
    apis = ApiDiscovery(lambda kind: kind is HTTP_ROUTE).snapshot("a")
    assert (apis.service_monitor, apis.http_route) == (False, True)
    assert apis.serves(HTTP_ROUTE) is True
    assert apis.serves(SERVICE_MONITOR) is False
    assert apis.serves(INGRESS) is True, "built-in APIs are always served"
