"""Skipping no-op applies: a child is up to date only when the manifest is the one last applied
and the watch shows the child as that apply left it."""

from __future__ import annotations

import copy
from typing import Any

from fks_operator.caches import ChildRecord, child_record
from fks_operator.drift import ChildStates, contains, digest, fingerprint, with_digest

MANAGER = "fks-operator"
KEY = ("Deployment", "trading", "btc-momentum-executor")


def child(
    *, uid: str = "u1", generation: int = 1, ours: dict[str, Any] | None = None, rv: str = "10"
) -> dict[str, Any]:
    return {
        "metadata": {
            "uid": uid,
            "generation": generation,
            "resourceVersion": rv,
            "managedFields": [
                {"manager": MANAGER, "operation": "Apply", "fieldsV1": ours or {"f:spec": {}}},
                {"manager": "kube-controller-manager", "operation": "Update",
                 "subresource": "status", "fieldsV1": {"f:status": {}}},
            ],
            "ownerReferences": [{"kind": "ExecutionPipeline", "uid": "p1", "controller": True}],
        },
        "status": {"readyReplicas": 0},
    }  # fmt: skip


def test_fingerprint_ignores_status_and_other_managers() -> None:
    base = child()
    moved = copy.deepcopy(base)
    moved["status"] = {"readyReplicas": 3}
    moved["metadata"]["resourceVersion"] = "99"
    moved["metadata"]["managedFields"][1]["fieldsV1"] = {"f:status": {"f:replicas": {}}}
    moved["metadata"]["managedFields"].append(
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {}}}
    )
    assert fingerprint(moved, MANAGER) == fingerprint(base, MANAGER)


def test_fingerprint_changes_with_our_fields_generation_and_uid() -> None:
    base = fingerprint(child(), MANAGER)
    assert fingerprint(child(ours={"f:spec": {"f:replicas": {}}}), MANAGER) != base
    assert fingerprint(child(generation=2), MANAGER) != base
    assert fingerprint(child(uid="u2"), MANAGER) != base


class Watch:
    """The watch cache of one child, as kopf's index keeps it."""

    def __init__(self) -> None:
        self.record: ChildRecord | None = None

    def show(self, body: dict[str, Any] | None) -> None:
        self.record = None if body is None else child_record(body, MANAGER)

    def __call__(self, key: tuple[str, str, str]) -> ChildRecord | None:
        return self.record if key == KEY else None


def test_up_to_date_only_after_the_watch_confirms_the_apply() -> None:
    watch = Watch()
    states = ChildStates(MANAGER, watch)
    manifest, manifest_digest = with_digest({"kind": "Deployment", "metadata": {}, "spec": {}})
    assert not states.up_to_date(KEY, manifest, manifest_digest)
    states.applied(KEY, manifest_digest, child(rv="11"))
    assert not states.confirmed(KEY)
    assert not states.up_to_date(KEY, manifest, manifest_digest), "trusted before the watch"
    watch.show(child(rv="11"))
    assert not states.drifted(KEY)
    assert states.confirmed(KEY)
    assert states.up_to_date(KEY, manifest, manifest_digest)
    other, other_digest = with_digest({"kind": "Deployment", "metadata": {}, "spec": {"x": 1}})
    assert not states.up_to_date(KEY, other, other_digest), "a new manifest"


def test_drift_and_deletion_make_the_child_stale() -> None:
    watch = Watch()
    states = ChildStates(MANAGER, watch)
    manifest, manifest_digest = with_digest({"metadata": {}, "x": 1})
    states.applied(KEY, manifest_digest, child())
    watch.show(child())
    assert not states.drifted(KEY)
    watch.show(child(ours={"f:spec": {"f:other": {}}}))
    assert states.drifted(KEY)
    assert not states.up_to_date(KEY, manifest, manifest_digest)
    watch.show(None)
    assert states.drifted(KEY)
    assert states.observed(KEY) is None
    assert not states.up_to_date(KEY, manifest, manifest_digest)


def test_status_updates_are_not_drift() -> None:
    watch = Watch()
    states = ChildStates(MANAGER, watch)
    states.applied(KEY, digest({}), child())
    rolled = child(rv="12")
    rolled["status"] = {"readyReplicas": 1}
    watch.show(rolled)
    assert not states.drifted(KEY)


def test_a_restarted_operator_adopts_a_child_that_carries_its_manifest_unchanged() -> None:
    watch = Watch()
    states = ChildStates(MANAGER, watch)
    manifest, manifest_digest = with_digest(
        {"kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": 8000}]}}
    )
    live = {**child(), **copy.deepcopy(manifest)}
    live["metadata"] = {**child()["metadata"], **manifest["metadata"]}
    live["spec"]["ports"][0]["protocol"] = "TCP"  # a server default: not a difference
    watch.show(live)
    assert states.up_to_date(KEY, manifest, manifest_digest), "no apply needed"
    assert states.confirmed(KEY)

    edited = copy.deepcopy(live)
    edited["spec"]["ports"][0]["port"] = 9000
    watch.show(edited)
    fresh = ChildStates(MANAGER, watch)
    assert not fresh.up_to_date(KEY, manifest, manifest_digest), "someone changed a field"

    newer, newer_digest = with_digest({**manifest, "spec": {"ports": [{"port": 8000}]}, "x": 1})
    watch.show(live)
    assert not ChildStates(MANAGER, watch).up_to_date(KEY, newer, newer_digest), "new manifest"


def test_contains_compares_what_the_manifest_sets() -> None:
    assert contains({"a": 1, "b": [{"c": 1, "d": 2}]}, {"b": [{"c": 1}]})
    assert not contains({"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 1}]}), "an extra list item"
    assert not contains({"a": 1}, {"a": 1, "b": 2}), "a field removed"
    assert not contains({"a": "1"}, {"a": 1})


def test_absent_and_forget() -> None:
    watch = Watch()
    states = ChildStates(MANAGER, watch)
    states.applied(KEY, digest({}), child())
    watch.show(child())
    assert states.observed(KEY) is not None
    assert states.observed(KEY).owner_uid == "p1"  # type: ignore[union-attr]
    states.absent(KEY)
    assert states.drifted(KEY), "nothing applied any more"
    states.applied(KEY, digest({}), child())
    states.forget("trading", {"btc-momentum-executor"})
    assert len(states) == 0
