"""The operator runs with ONLY the chart's RBAC: the chart's ServiceAccount, (Cluster)Roles and
bindings are applied to the real API server, the operator gets a TokenRequest token of that
ServiceAccount and the environment of the chart's Deployment, and reconciles real pipelines.

It talks to a kube-apiserver with the OwnerReferencesPermissionEnforcement admission plugin on
(admission.py; OpenShift runs it), so the permissions that plugin checks must be granted too.
Its API requests go through a recording pass-through proxy (apiproxy.py), so the tests also show
the other direction: every permission the chart grants was used (nothing beyond what the operator
needs), and the operator never got a 403. The rare paths are driven on purpose: children
changed by hand in ways server-side apply cannot undo (deleted and re-created), an owner
reference removed by hand (put back).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.harness import kube_pki
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import ManagedProcess, free_port
from tests.integration.operator.gateway_api import HTTP_ROUTE_CRD, crd_file
from tests.integration.packaging.admission import NotTheHarnessPlane, enforcing_apiserver
from tests.integration.packaging.apiproxy import RecordingProxy, Triple
from tests.integration.packaging.conftest import apply_docs
from tests.unit.chart.helm import REPO, Doc, kinds, one, render

EXAMPLES = REPO / "examples"


def apply_example(kube: KubeCluster, namespace: str, example: str) -> None:
    """Apply ``examples/<example>.yaml`` as a user does: then replace its placeholder webhook
    secret, which the operator refuses (WebhookSecretWeak)."""
    path = EXAMPLES / f"{example}.yaml"
    kube.kubectl("apply", "-n", namespace, "-f", str(path))
    for doc in yaml.safe_load_all(path.read_text()):
        name = doc["metadata"]["name"] if doc and doc.get("kind") == "Secret" else ""
        if name.endswith("-webhook"):
            replaced = {"stringData": {"secret": secrets.token_hex(32)}}
            kube.kubectl("patch", "-n", namespace, "secret", name, "-p", json.dumps(replaced))


RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
OPERATOR_BIN = Path(sys.executable).parent / "fks-operator"
#: Owners the children name (for the ``<resource>/finalizers`` permission the proxy counts).
OWNER_PLURALS = {("execution.fks.io", "ExecutionPipeline"): "executionpipelines"}
FINALIZERS: Triple = ("execution.fks.io", "executionpipelines/finalizers", "update")

#: Grants the scenario below may not exercise, and why the chart keeps them. The operator
#: reconciles from watch caches (docs/operator.md, "Watch caches"): it reads a referenced
#: Secret only when a reconcile needs it before the Secret watch has shown it, and no longer
#: reads custom resources or children at all; `get` on them stays granted (get/list/watch go
#: together for readers of the chart; dropping it is the chart's call).
MAY_GO_UNUSED: dict[Triple, str] = {
    ("", "secrets", "get"): (
        "caches.SecretCache reads a referenced Secret its watch has not shown yet; at a cold "
        "start the watch usually comes first"
    ),
    **{
        (group, plural, "get"): "objects come from the watch caches; not read by the operator"
        for group, plural in (
            ("execution.fks.io", "executionpipelines"),
            ("execution.fks.io", "exchangeaccounts"),
            ("apps", "deployments"),
            ("autoscaling", "horizontalpodautoscalers"),
            ("policy", "poddisruptionbudgets"),
            ("monitoring.coreos.com", "servicemonitors"),
            ("networking.k8s.io", "networkpolicies"),
            ("networking.k8s.io", "ingresses"),
            ("gateway.networking.k8s.io", "httproutes"),
        )
    },
}


def granted(docs: list[Doc], fullname: str, kind: str, namespace: str | None = None) -> set[Triple]:
    return {
        (group, resource, verb)
        for doc in kinds(docs, kind)
        if doc.name == fullname and (namespace is None or doc.namespace == namespace)
        for rule in doc.obj["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@dataclass
class ChartOperator:
    """fks-operator running as the chart's ServiceAccount, behind a recording proxy."""

    kube: KubeCluster
    release_namespace: str
    fullname: str
    docs: list[Doc]
    proxy: RecordingProxy
    proc: ManagedProcess
    health_port: int
    env: dict[str, str] = field(default_factory=dict)

    def tail(self, lines: int = 60) -> str:
        return self.proc.tail(lines)

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            return httpx.get(url, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def forbidden(self) -> list[str]:
        return [f"{r.method} {r.path}?{r.query}: {r.message}" for r in self.proxy.forbidden()]


def write_kubeconfig(path: Path, server: str, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "proxy", "cluster": {"server": server}}],
        "users": [{"name": "chart-sa", "user": {"token": token}}],
        "contexts": [{"name": "chart-sa", "context": {"cluster": "proxy", "user": "chart-sa"}}],
        "current-context": "chart-sa",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def owner_refs_enforced(
    kube: KubeCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of a second API server on the same etcd, with OwnerReferencesPermissionEnforcement."""
    try:
        with enforcing_apiserver(kube, tmp_path_factory.mktemp("apiserver")) as server:
            yield server
    except NotTheHarnessPlane as exc:
        pytest.skip(f"cannot start a second API server with {exc}; these tests need the plane "
                    "tests/harness starts (not FKS_TEST_KUBECONFIG)")  # fmt: skip


@pytest.fixture
def gateway_api(kube: KubeCluster) -> Iterator[str]:
    """The Gateway API's real HTTPRoute CRD for one test, removed afterwards if this installed it
    (other tests expect a cluster without it)."""
    installed = kube.kubectl("get", "crd", HTTP_ROUTE_CRD, check=False).returncode != 0
    if installed:
        kube.kubectl("apply", "--server-side", "-f", str(crd_file()), timeout=120)
    kube.wait_established(HTTP_ROUTE_CRD)
    yield HTTP_ROUTE_CRD
    if installed:
        kube.kubectl("delete", "crd", HTTP_ROUTE_CRD, "--ignore-not-found", "--timeout=60s")


@pytest.fixture
def start_chart_operator(
    kube: KubeCluster,
    namespace: str,
    chart_crds: list[str],
    owner_refs_enforced: str,
    tmp_path: Path,
) -> Iterator[Callable[[dict[str, Any]], ChartOperator]]:
    """Install the chart's RBAC into the test namespace (the release namespace) and start the
    operator with it, talking to the enforcing API server through the recording proxy;
    everything is stopped and the cluster-scoped RBAC deleted afterwards."""
    started: list[ChartOperator] = []
    cluster_scoped: list[Doc] = []

    def start(values: dict[str, Any]) -> ChartOperator:
        fullname = f"fks-op-{namespace[-6:]}-{len(started)}"
        docs = render({**values, "fullnameOverride": fullname}, namespace=namespace)
        rbac = [d for d in docs if d.kind in RBAC_KINDS and d.name == fullname]
        assert {d.kind for d in rbac} >= {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
        cluster_scoped.extend(d for d in rbac if d.namespace is None)
        apply_docs(kube, [d.text for d in rbac])
        token = kube.service_account_token(namespace, fullname)

        proxy = RecordingProxy(owner_refs_enforced, kube.ca_path, owner_plurals=OWNER_PLURALS)
        proxy.start()
        kubeconfig = write_kubeconfig(tmp_path / f"{fullname}.kubeconfig", proxy.url, token)
        container = one(docs, "Deployment").obj["spec"]["template"]["spec"]["containers"][0]
        chart_env = {e["name"]: str(e["value"]) for e in container["env"] if "value" in e}
        health_port, metrics_port = free_port(), free_port()
        chart_env.update(
            FKS_OPERATOR_HEALTH_PORT=str(health_port), FKS_OPERATOR_METRICS_PORT=str(metrics_port)
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("FKS_OPERATOR_")}
        env.update(chart_env, KUBECONFIG=str(kubeconfig))
        proc = ManagedProcess(f"fks-operator-{fullname}", [str(OPERATOR_BIN)], env=env, cwd=REPO)
        handle = ChartOperator(kube, namespace, fullname, docs, proxy, proc, health_port, chart_env)
        started.append(handle)
        proc.wait_ready(handle.healthy, timeout=60)
        return handle

    yield start
    for handle in started:
        handle.proc.stop(timeout=20)
        handle.proxy.stop()
    for doc in cluster_scoped:
        kube.kubectl("delete", doc.kind.lower(), doc.name, "--ignore-not-found", check=False)


class Namespace:
    """kubectl in one namespace, with waits that show the state and the operator's log."""

    def __init__(self, kube: KubeCluster, operator: ChartOperator, name: str) -> None:
        self.kube, self.operator, self.ns = kube, operator, name

    def kubectl(self, *args: str, check: bool = True) -> str:
        return self.kube.kubectl(*args, "-n", self.ns, check=check).stdout

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        result = self.kube.kubectl("get", kind, name, "-n", self.ns, "-o", "json", check=False)
        if result.returncode != 0:
            assert "NotFound" in result.stderr, result.stderr
            return None
        found: dict[str, Any] = json.loads(result.stdout)
        return found

    def condition(self, kind: str, name: str, type_: str) -> dict[str, Any]:
        for item in ((self.get(kind, name) or {}).get("status") or {}).get("conditions") or ():
            if item.get("type") == type_:
                found: dict[str, Any] = item
                return found
        return {}

    def describe(self) -> str:
        what = "executionpipelines,exchangeaccounts,deployments,pods,configmaps,services,hpa,pdb"
        state = self.kube.kubectl("get", what, "-n", self.ns, "-o", "wide", check=False)
        return (
            f"{state.stdout}{state.stderr}\nforbidden: {self.operator.forbidden()}\n"
            f"--- fks-operator log ---\n{self.operator.tail(60)}"
        )

    def wait(self, probe: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        return self.kube.wait_for(probe, timeout=timeout, what=what, describe=self.describe)

    def wait_condition(self, kind: str, name: str, type_: str, status: str = "True") -> None:
        self.wait(
            lambda: self.condition(kind, name, type_).get("status") == status,
            f"{kind} {self.ns}/{name} {type_}={status}",
        )

    def patch(self, kind: str, name: str, patch: dict[str, Any]) -> None:
        self.kubectl("patch", kind, name, "--type=merge", "-p", json.dumps(patch))


def reconciled_pipeline(space: Namespace, name: str, replicas: int) -> dict[str, Any]:
    """Waits for Reconciled and Ready, and for the executors' pods to run (kwok plays kubelet)."""
    space.wait_condition("executionpipeline", name, "Reconciled")
    space.wait_condition("executionpipeline", name, "Ready")
    deployment = space.wait(
        lambda: (
            (d := space.get("deployment", f"{name}-executor"))
            and (d.get("status") or {}).get("readyReplicas") == replicas
            and d
        ),
        f"{replicas} ready executor(s) of {name}",
    )
    selector = f"app.kubernetes.io/instance={name},app.kubernetes.io/name=fks-executor"
    pods = json.loads(space.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    assert len(running) >= replicas, space.describe()
    status: dict[str, Any] = space.get("executionpipeline", name)["status"]  # type: ignore[index]
    assert status["readyReplicas"] == replicas
    assert deployment["metadata"]["ownerReferences"][0]["name"] == name
    return status


def recreated_after(
    space: Namespace, kind: str, name: str, edit: list[dict[str, Any]],
    restored: Callable[[dict[str, Any]], bool],
) -> None:  # fmt: skip
    """Edit a child by hand (a JSON patch) in a way server-side apply cannot undo, and wait for
    the operator to delete it and create it again from its own manifest."""
    before = space.get(kind, name)
    assert before is not None, space.describe()
    space.kubectl("patch", kind, name, "--type=json", "-p", json.dumps(edit))
    space.wait(
        lambda: (
            (now := space.get(kind, name)) is not None
            and now["metadata"]["uid"] != before["metadata"]["uid"]
            and restored(now)
        ),
        f"{kind} {name} re-created by the operator",
    )


def test_chart_rbac_is_enough_for_a_full_reconcile_and_every_grant_is_used(
    kube: KubeCluster,
    monitoring_crds: list[str],  # first: removed only after the operator has stopped
    gateway_api: str,
    make_namespace: Callable[[str], str],
    start_chart_operator: Callable[[dict[str, Any]], ChartOperator],
) -> None:
    operator = start_chart_operator({})  # the chart's defaults: cluster-wide
    space = Namespace(kube, operator, make_namespace("trading"))

    # The examples, as a user applies them: an account, a dry-run pipeline, a redis pipeline.
    for example in ("exchangeaccount-testnet", "pipeline-dry-run", "pipeline-redis-replicas"):
        apply_example(kube, space.ns, example)
    space.wait_condition("exchangeaccount", "binance-testnet", "Ready")
    status = reconciled_pipeline(space, "btc-momentum", replicas=1)
    assert status["mode"] == "dry-run"
    assert status["webhookURL"].startswith(f"http://btc-momentum-executor.{space.ns}.svc")
    assert space.get("configmap", "btc-momentum-executor-config")
    assert space.get("service", "btc-momentum-executor")
    reconciled_pipeline(space, "eth-swing", replicas=3)
    assert space.get("poddisruptionbudget", "eth-swing-executor")  # replicas > 1
    assert space.get("servicemonitor", "eth-swing-executor")  # the API is served

    # Autoscaling on: an HPA; then off with one replica: HPA and PDB deleted again.
    space.patch(
        "executionpipeline", "eth-swing",
        {"spec": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4}}},
    )  # fmt: skip
    space.wait(lambda: space.get("hpa", "eth-swing-executor"), "the HPA")
    space.patch(
        "executionpipeline", "eth-swing",
        {"spec": {"autoscaling": {"enabled": False}, "replicas": 1,
                  "monitoring": {"serviceMonitor": {"enabled": False}}}},
    )  # fmt: skip
    for kind in ("hpa", "poddisruptionbudget", "servicemonitor"):
        space.wait(lambda k=kind: space.get(k, "eth-swing-executor") is None, f"{kind} deleted")

    # The webhook exposed through an HTTPRoute, then an Ingress instead (the example, enabled),
    # then neither; the NetworkPolicy (on by default) turned off: each deleted in turn.
    apply_example(kube, space.ns, "pipeline-exposed")
    reconciled_pipeline(space, "btc-public", replicas=1)
    assert space.get("networkpolicy", "btc-public-executor")
    gateway = {"enabled": True, "parentRefs": [{"name": "public"}], "hostnames": ["a.example.com"]}
    space.patch("executionpipeline", "btc-public", {"spec": {"webhook": {"expose": {
        "gateway": gateway}}}})  # fmt: skip
    space.wait(lambda: space.get("httproute", "btc-public-executor"), "the HTTPRoute")
    space.patch("executionpipeline", "btc-public", {"spec": {"webhook": {"expose": {
        "gateway": {"enabled": False}, "ingress": {"enabled": True}}}}})  # fmt: skip
    space.wait(lambda: space.get("ingress", "btc-public-executor"), "the Ingress")
    space.wait(lambda: space.get("httproute", "btc-public-executor") is None, "route deleted")
    space.patch("executionpipeline", "btc-public", {"spec": {
        "webhook": {"expose": {"ingress": {"enabled": False}}},
        "networkPolicy": {"enabled": False}}})  # fmt: skip
    for kind in ("ingress", "networkpolicy"):
        space.wait(lambda k=kind: space.get(k, "btc-public-executor") is None, f"{kind} deleted")

    # Drift: a child deleted by hand comes back.
    space.kubectl("delete", "service", "btc-momentum-executor")
    space.wait(lambda: space.get("service", "btc-momentum-executor"), "the Service restored")

    # Drift apply cannot undo (reconcile._recreate): the API server refuses the operator's apply
    # as invalid, a dry run of its own manifest passes, so it deletes and re-creates the child.
    # A Service port renumbered: apply would add port 8000 next to it, both named http.
    recreated_after(
        space, "service", "btc-momentum-executor",
        [{"op": "replace", "path": "/spec/ports/0/port", "value": 9999}],
        lambda svc: [p["port"] for p in svc["spec"]["ports"]] == [8000],
    )  # fmt: skip
    # The same for the executor container's port in the Deployment.
    recreated_after(
        space, "deployment", "btc-momentum-executor",
        [{"op": "replace", "path": "/spec/template/spec/containers/0/ports/0/containerPort",
          "value": 8001}],
        lambda d: [p["containerPort"] for p in d["spec"]["template"]["spec"]["containers"][0]
                   ["ports"]] == [8000],
    )  # fmt: skip
    # A ConfigMap made immutable and edited: apply may not change its data back.
    config = space.get("configmap", "btc-momentum-executor-config")
    assert config is not None
    recreated_after(
        space, "configmap", "btc-momentum-executor-config",
        [{"op": "add", "path": "/immutable", "value": True},
         {"op": "replace", "path": "/data/config.yaml", "value": "pipeline: hijacked\n"}],
        lambda cm: cm["data"] == config["data"] and not cm.get("immutable"),
    )  # fmt: skip
    log = operator.proc.output()
    for kind in ("Service", "Deployment", "ConfigMap"):
        assert f"{kind} {space.ns}/btc-momentum-executor" in log, operator.tail()
    assert log.count("was changed in a way apply cannot undo") >= 3, operator.tail()
    reconciled_pipeline(space, "btc-momentum", replicas=1)

    # An owner reference removed by hand is put back. With the admission plugin on, changing an
    # object's owner references needs delete on it, and update on the owner's finalizers.
    space.kubectl(
        "patch", "configmap", "eth-swing-executor-config", "--type=json",
        "-p", json.dumps([{"op": "remove", "path": "/metadata/ownerReferences"}]),
    )  # fmt: skip
    space.wait(
        lambda: (
            [
                (ref["name"], ref.get("blockOwnerDeletion"))
                for ref in (space.get("configmap", "eth-swing-executor-config") or {})
                .get("metadata", {})
                .get("ownerReferences", [])
            ]
            == [("eth-swing", True)]
        ),
        "the ConfigMap's owner reference put back",
    )

    # The account switches to live: Warning Events on it and on the pipelines using it.
    space.patch(
        "exchangeaccount", "binance-testnet",
        {"spec": {"environment": "live", "acknowledgeLiveTrading": True}},
    )  # fmt: skip

    def live_events() -> set[str] | None:
        events = json.loads(
            space.kubectl(
                "get", "events", "-o", "json", "--field-selector=reason=LiveTradingEnabled"
            )
        )["items"]
        involved = {e["involvedObject"]["name"] for e in events if e["type"] == "Warning"}
        return involved if involved >= {"binance-testnet", "btc-momentum", "eth-swing"} else None

    space.wait(live_events, "LiveTradingEnabled Warnings on the account and both pipelines")

    assert operator.forbidden() == [], operator.tail()
    assert operator.proc.alive(), operator.tail()
    assert "Not enough permissions" not in operator.proc.output()  # kopf's RBAC fallbacks
    rules = granted(operator.docs, operator.fullname, "ClusterRole")
    used = operator.proxy.triples()
    assert used <= rules, f"used without a grant: {sorted(used - rules)}"
    unused = rules - used
    assert unused <= set(MAY_GO_UNUSED), f"granted but never used: {sorted(unused)}"
    for kind in ("configmaps", "services"):
        assert ("", kind, "delete") in used  # the re-create path, not only optional children
    assert ("apps", "deployments", "delete") in used
    assert FINALIZERS in used


def test_namespaced_chart_rbac_confines_the_operator_to_its_namespaces(
    kube: KubeCluster,
    make_namespace: Callable[[str], str],
    start_chart_operator: Callable[[dict[str, Any]], ChartOperator],
) -> None:
    watched = [make_namespace("watched"), make_namespace("watched")]
    other = make_namespace("unwatched")
    operator = start_chart_operator({"watchNamespaces": watched})
    assert operator.env["FKS_OPERATOR_NAMESPACES"] == ",".join(sorted(watched))

    for ns in (*watched, other):
        for example in ("exchangeaccount-testnet", "pipeline-dry-run"):
            apply_example(kube, ns, example)
    for ns in watched:
        reconciled_pipeline(Namespace(kube, operator, ns), "btc-momentum", replicas=1)

    # The unwatched namespace is left alone (checked after the watched ones were reconciled).
    unwatched = Namespace(kube, operator, other)
    assert (unwatched.get("executionpipeline", "btc-momentum") or {}).get("status") is None
    assert unwatched.get("deployment", "btc-momentum-executor") is None

    # The ServiceAccount cannot even read there: no Secret, no pipeline outside its namespaces.
    token = kube.service_account_token(operator.release_namespace, operator.fullname)
    for verb, resource in (("get", "secrets"), ("list", "secrets"), ("list", "executionpipelines")):
        answer = kube.kubectl(
            "auth", "can-i", verb, resource, "-n", other, token=token, check=False
        )
        assert answer.stdout.strip() == "no", (verb, resource)
    answer = kube.kubectl("auth", "can-i", "list", "secrets", "-A", token=token, check=False)
    assert answer.stdout.strip() == "no"

    assert operator.forbidden() == [], operator.tail()
    assert "Not enough permissions" not in operator.proc.output()  # kopf's RBAC fallbacks
    requests = operator.proxy.snapshot()
    assert not [r for r in requests if r.namespace == other], (
        "the operator touched the unwatched namespace"
    )
    cluster_wide = {r.triple for r in requests if r.group is not None and r.namespace is None}
    cluster_rules = granted(operator.docs, operator.fullname, "ClusterRole")
    assert cluster_wide == cluster_rules, "cluster-wide requests are exactly the ClusterRole"
    for ns in watched:
        role = granted(operator.docs, operator.fullname, "Role", ns)
        used = operator.proxy.triples(r for r in requests if r.namespace == ns)
        assert used <= role

    # The proxy does see a refusal when there is one (so the empty list above means something).
    denied = httpx.get(
        f"{operator.proxy.url}/api/v1/namespaces/{other}/secrets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        trust_env=False,
    )
    assert denied.status_code == 403
    assert [r.path for r in operator.proxy.forbidden()] == [f"/api/v1/namespaces/{other}/secrets"]


def single_rules(rules: list[dict[str, Any]], without: Triple | None) -> list[dict[str, Any]]:
    """``rules`` as one rule per (group, resource, verb), leaving ``without`` out."""
    singles = [
        {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        if (group, resource, verb) != without
    ]
    assert without is None or len(singles) < sum(
        len(r["apiGroups"]) * len(r["resources"]) * len(r["verbs"]) for r in rules
    ), f"the chart does not grant {without}"
    return singles


def bind_role(kube: KubeCluster, namespace: str, name: str, rules: list[dict[str, Any]]) -> str:
    """A ServiceAccount ``name`` with a Role of ``rules``; returns a token for it."""
    rbac = "rbac.authorization.k8s.io"
    account = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    for obj in (
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "subjects": [account],
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
        },
    ):
        kube.apply(obj, namespace=namespace)
    return kube.service_account_token(namespace, name)


def owned_config_map(name: str, owner: dict[str, Any] | None) -> str:
    """A ConfigMap like a pipeline's child: ``owner`` (a pipeline as read) with
    blockOwnerDeletion, as the operator's builders set it, or no owner reference."""
    meta: dict[str, Any] = {"name": name}
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})


def test_the_admission_plugin_needs_the_finalizers_and_delete_grants(
    kube: KubeCluster,
    namespace: str,
    chart_crds: list[str],
    owner_refs_enforced: str,
    tmp_path: Path,
) -> None:
    """What counting FINALIZERS as used, and delete on every child, rest on: on the enforcing
    API server the chart's Role lets the operator create a child that names its pipeline with
    blockOwnerDeletion, and put back a removed owner reference; the same Role without
    ``executionpipelines/finalizers: update``, or without ``delete`` on the child, is refused.
    The plain API server allows it, so it is the plugin that needs those grants."""
    role = one(render({"watchNamespaces": [namespace]}, namespace=namespace), "Role")
    apply_example(kube, namespace, "pipeline-dry-run")
    pipeline = kube.kubectl_json("get", "executionpipeline", "btc-momentum", "-n", namespace)
    without: dict[str, Triple | None] = {
        "chart": None,
        "no-finalizers": FINALIZERS,
        "no-delete": ("", "configmaps", "delete"),
    }
    enforced: dict[str, Path] = {}
    plain: dict[str, Path] = {}
    for who, missing in without.items():
        token = bind_role(kube, namespace, who, single_rules(role.obj["rules"], missing))
        enforced[who] = kube_pki.write_kubeconfig(
            tmp_path / f"{who}.kubeconfig", owner_refs_enforced, kube.ca_path, token, who
        )
        plain[who] = kube.kubeconfig_for(token, name=who)

    def apply(kubeconfig: Path | None, manifest: str) -> str:
        """Server-side apply as the operator does; returns the error ("" when it worked)."""
        result = kube.kubectl(
            "apply", "--server-side", "--field-manager=fks-operator", "--force-conflicts",
            "-n", namespace, "-f", "-", kubeconfig=kubeconfig, input=manifest, check=False,
        )  # fmt: skip
        return "" if result.returncode == 0 else result.stderr

    # Creating a child that names its pipeline with blockOwnerDeletion.
    error = apply(enforced["no-finalizers"], owned_config_map("a", pipeline))
    assert "cannot set blockOwnerDeletion" in error, error
    assert apply(plain["no-finalizers"], owned_config_map("b", pipeline)) == ""  # no plugin
    assert apply(enforced["chart"], owned_config_map("a", pipeline)) == ""

    # Putting back an owner reference removed by hand (the owner references change).
    for who in ("no-delete", "chart"):
        assert apply(None, owned_config_map("a", None)) == ""  # as admin: the reference goes
        found = kube.kubectl_json("get", "configmap", "a", "-n", namespace)
        assert "ownerReferences" not in found["metadata"]
        error = apply(enforced[who], owned_config_map("a", pipeline))
        if who == "no-delete":
            assert "cannot set an ownerRef on a resource you can't delete" in error, error
        else:
            assert error == ""
    found = kube.kubectl_json("get", "configmap", "a", "-n", namespace)
    assert found["metadata"]["ownerReferences"][0]["uid"] == pipeline["metadata"]["uid"]
