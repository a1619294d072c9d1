"""Skipping no-op applies: a child is up to date only when the manifest is the one last applied
and the watch shows the child as that apply left it."""

from __future__ import annotations

import copy
from typing import Any

from fks_operator.drift import ChildStates, digest, fingerprint

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
            "ownerReferences": [{"uid": "p1", "controller": True}],
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


def test_up_to_date_only_after_the_watch_confirms_the_apply() -> None:
    states = ChildStates(MANAGER)
    manifest_digest = digest({"spec": {"replicas": 1}})
    assert not states.up_to_date(KEY, manifest_digest)
    states.applied(KEY, manifest_digest, child(rv="11"))
    assert not states.confirmed(KEY)
    assert not states.up_to_date(KEY, manifest_digest), "trusted before the watch saw it"
    drift = states.observe(KEY, child(rv="11"), "p1")
    assert not drift
    assert states.confirmed(KEY)
    assert states.up_to_date(KEY, manifest_digest)
    assert not states.up_to_date(KEY, digest({"spec": {"replicas": 2}})), "a new manifest"


def test_drift_and_deletion_make_the_child_stale() -> None:
    states = ChildStates(MANAGER)
    manifest_digest = digest({"x": 1})
    states.applied(KEY, manifest_digest, child())
    states.observe(KEY, child(), "p1")
    assert states.observe(KEY, child(ours={"f:spec": {"f:other": {}}}), "p1") is True
    assert not states.up_to_date(KEY, manifest_digest)
    states.observe(KEY, child(), "p1")
    assert states.observe(KEY, None, None) is True
    assert states.known_absent(KEY)
    assert not states.up_to_date(KEY, manifest_digest)


def test_status_updates_are_not_drift() -> None:
    states = ChildStates(MANAGER)
    states.applied(KEY, digest({}), child())
    states.observe(KEY, child(), "p1")
    rolled = child(rv="12")
    rolled["status"] = {"readyReplicas": 1}
    assert states.observe(KEY, rolled, "p1") is False


def test_absent_forget_and_reset() -> None:
    states = ChildStates(MANAGER)
    states.applied(KEY, digest({}), child())
    states.observe(KEY, child(), "p1")
    assert states.observed(KEY) is not None
    assert states.observed(KEY).owner_uid == "p1"  # type: ignore[union-attr]
    states.reset_applied()
    assert not states.up_to_date(KEY, digest({}))
    states.absent(KEY)
    assert states.known_absent(KEY)
    states.forget("trading", {"btc-momentum-executor"})
    assert not states.known_absent(KEY)
    assert len(states) == 0
