"""The operator's RBAC is exactly what the operator uses: no wildcard, no Secret writes, nothing
extra, and the same table in docs/operator.md and docs/install.md.
tests/integration/packaging/test_operator_rbac.py proves the same rules are enough (and all
used) by running the operator with only them against a real API server."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from fks_operator.kube import (
    CHILD_KINDS,
    CONFIG_MAP,
    DEPLOYMENT,
    HPA,
    HTTP_ROUTE,
    INGRESS,
    NETWORK_POLICY,
    PDB,
    SERVICE,
    SERVICE_MONITOR,
)
from tests.unit.chart import rbac_docs
from tests.unit.chart.helm import (
    FULLNAME,
    RELEASE_NAMESPACE,
    VALUE_SETS,
    WATCHED,
    Doc,
    kinds,
    one,
    rbac_rules,
    render,
)

Triple = tuple[str, str, str]  # (apiGroup, resource, verb)
READ = ("get", "list", "watch")
#: Every child: watched (list, watch), server-side applied (patch; create when new), and deleted
#: and re-created after an edit apply cannot undo (reconcile._recreate, any child kind).
APPLY = ("list", "watch", "create", "patch", "delete")
#: Per child kind: what the operator does on top of APPLY (tests/integration/packaging shows it).
CHILD_EXTRA = {
    CONFIG_MAP: (),  # never read back
    SERVICE: (),
    DEPLOYMENT: ("get",),  # read back for the pipeline's status when its apply was skipped
    HPA: ("get",),  # optional children: read before deleting one the watch has not reported
    PDB: ("get",),
    SERVICE_MONITOR: ("get",),
    NETWORK_POLICY: ("get",),
    INGRESS: ("get",),
    HTTP_ROUTE: ("get",),
}

#: What the operator does in each watched namespace, and where in its code.
OPERATOR_NAMESPACED: frozenset[Triple] = frozenset(
    # kopf watch streams (list+watch) and the reconcile's reads (get) of both CRs
    {("execution.fks.io", r, v) for r in ("exchangeaccounts", "executionpipelines") for v in READ}
    # KubeApi.patch_status: merge patch of the status subresource only
    | {
        ("execution.fks.io", f"{r}/status", "patch")
        for r in ("exchangeaccounts", "executionpipelines")
    }
    # children name their pipeline with blockOwnerDeletion: checked by the
    # OwnerReferencesPermissionEnforcement admission plugin where it is on
    | {("execution.fks.io", "executionpipelines/finalizers", "update")}
    # Secret references: watch (rollouts on rotation) and reads; never written
    | {("", "secrets", v) for v in READ}
    # KubeApi.post_event
    | {("", "events", "create")}
    # the children
    | {(k.group, k.plural, v) for k, extra in CHILD_EXTRA.items() for v in (*APPLY, *extra)}
)

#: Cluster-scoped reads: kopf's resource scanning and the ServiceMonitor/HTTPRoute CRD watch.
OPERATOR_CLUSTER: frozenset[Triple] = frozenset(
    {("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("list", "watch")}
)

#: With watchNamespaces, kopf follows the watched namespaces (created/deleted).
OPERATOR_NAMESPACES_WATCH: frozenset[Triple] = frozenset(
    {("", "namespaces", "list"), ("", "namespaces", "watch")}
)


def triples(rules: Iterable[dict[str, Any]]) -> set[Triple]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def operator_roles(docs: list[Doc]) -> list[Doc]:
    """The Roles/ClusterRoles bound to the operator (not the aggregated user roles)."""
    return [d for d in docs if d.kind in ("Role", "ClusterRole") and d.name == FULLNAME]


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_no_wildcards_anywhere(name: str) -> None:
    for doc, rule in rbac_rules(render(name)):
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(field, []), f"{doc.kind} {doc.name}: {rule}"
            assert not any("*" in str(v) for v in rule.get(field, [])), f"{doc.kind}: {rule}"
        assert "nonResourceURLs" not in rule, f"{doc.kind} {doc.name}: {rule}"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_secrets_are_never_written_by_anyone(name: str) -> None:
    for doc, rule in rbac_rules(render(name)):
        if "secrets" in rule.get("resources", []):
            assert set(rule["verbs"]) <= set(READ), f"{doc.kind} {doc.name}: {rule}"


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_nothing_that_escalates(name: str) -> None:
    risky_resources = {
        "roles", "clusterroles", "rolebindings", "clusterrolebindings", "serviceaccounts",
        "serviceaccounts/token", "pods", "pods/exec", "pods/attach", "pods/portforward",
        "nodes", "nodes/proxy", "certificatesigningrequests", "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations", "tokenreviews", "subjectaccessreviews",
    }  # fmt: skip
    for doc, rule in rbac_rules(render(name)):
        assert not set(rule.get("verbs", [])) & {"bind", "escalate", "impersonate"}, rule
        assert not set(rule.get("resources", [])) & risky_resources, f"{doc.name}: {rule}"
        if doc.name == FULLNAME:
            assert "rbac.authorization.k8s.io" not in rule.get("apiGroups", [])


def test_cluster_wide_operator_role_is_exactly_what_the_operator_uses() -> None:
    docs = render("defaults")
    (role,) = operator_roles(docs)
    assert role.kind == "ClusterRole"
    granted = triples(role.obj["rules"])
    assert granted == OPERATOR_NAMESPACED | OPERATOR_CLUSTER, (
        f"extra: {sorted(granted - OPERATOR_NAMESPACED - OPERATOR_CLUSTER)}; "
        f"missing: {sorted(OPERATOR_NAMESPACED | OPERATOR_CLUSTER - granted)}"
    )
    binding = one(docs, "ClusterRoleBinding")
    assert binding.obj["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME,
    }  # fmt: skip
    assert binding.obj["subjects"] == [
        {"kind": "ServiceAccount", "name": FULLNAME, "namespace": RELEASE_NAMESPACE}
    ]
    assert not kinds(docs, "Role")
    assert not kinds(docs, "RoleBinding")


def test_namespaced_operator_roles_cover_only_the_watched_namespaces() -> None:
    docs = render("namespaced")
    roles = {d.namespace: d for d in kinds(docs, "Role")}
    bindings = {d.namespace: d for d in kinds(docs, "RoleBinding")}
    assert sorted(roles) == sorted(bindings) == sorted(WATCHED)
    for namespace in WATCHED:
        assert triples(roles[namespace].obj["rules"]) == OPERATOR_NAMESPACED
        binding = bindings[namespace].obj
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": FULLNAME,
        }  # fmt: skip
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULLNAME, "namespace": RELEASE_NAMESPACE}
        ]
    # cluster-wide it keeps only the cluster-scoped reads: no Secret, CR or child anywhere else
    cluster_role = one(docs, "ClusterRole", FULLNAME)
    assert triples(cluster_role.obj["rules"]) == OPERATOR_CLUSTER | OPERATOR_NAMESPACES_WATCH
    container = one(docs, "Deployment").obj["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FKS_OPERATOR_NAMESPACES"] == ",".join(sorted(WATCHED))


def test_every_child_kind_of_the_operator_is_covered() -> None:
    """A child kind added to the operator (fks_operator.kube.CHILD_KINDS) needs a chart rule."""
    assert set(CHILD_KINDS) == set(CHILD_EXTRA)
    granted = triples(operator_roles(render("defaults"))[0].obj["rules"])
    for kind in CHILD_KINDS:
        for verb in APPLY:
            assert (kind.group, kind.plural, verb) in granted, f"{kind.kind}: {verb}"


def test_user_roles_aggregate_into_view_edit_admin() -> None:
    docs = render("defaults")
    view = one(docs, "ClusterRole", f"{FULLNAME}-view").obj
    edit = one(docs, "ClusterRole", f"{FULLNAME}-edit").obj
    aggregate = "rbac.authorization.k8s.io/aggregate-to-"
    view_to = {k.removeprefix(aggregate) for k in view["metadata"]["labels"] if aggregate in k}
    edit_to = {k.removeprefix(aggregate) for k in edit["metadata"]["labels"] if aggregate in k}
    assert view_to == {"view", "edit", "admin"}
    assert edit_to == {"edit", "admin"}
    assert {v for _, _, v in triples(view["rules"])} == set(READ)
    written = {r for _, r, _ in triples(edit["rules"])}
    assert written == {"exchangeaccounts", "executionpipelines"}  # status stays the operator's


@pytest.mark.parametrize("doc", sorted(rbac_docs.TABLES), ids=lambda p: p.name)
def test_the_docs_show_exactly_the_chart_rules(doc: Path) -> None:
    """docs/operator.md and docs/install.md list what the chart grants, row for row: the
    namespaced rules, the cluster-scoped reads, and the namespaces watch of watchNamespaces."""
    rows = rbac_docs.table(doc)
    documented = rbac_docs.triples(rows)
    chart = triples(operator_roles(render("defaults"))[0].obj["rules"]) | triples(
        one(render("namespaced"), "ClusterRole", FULLNAME).obj["rules"]
    )
    assert chart == OPERATOR_NAMESPACED | OPERATOR_CLUSTER | OPERATOR_NAMESPACES_WATCH
    assert documented == chart, (
        f"{doc.name} lists more: {sorted(documented - chart)}; "
        f"the chart grants more: {sorted(chart - documented)}"
    )
    cluster_rows = {r for row in rows if row.cluster_scoped for r in row.resources}
    assert cluster_rows == {r for _, r, _ in OPERATOR_CLUSTER | OPERATOR_NAMESPACES_WATCH}
    assert all(not row.cluster_scoped or set(row.resources) <= rbac_docs.CLUSTER_SCOPED
               for row in rows), "a row mixes cluster-scoped and namespaced resources"  # fmt: skip
