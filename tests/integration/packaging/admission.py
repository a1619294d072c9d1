"""A second kube-apiserver on the local control plane's etcd, with the admission plugin
``OwnerReferencesPermissionEnforcement`` on (OpenShift runs it; upstream leaves it off).

With it, the API server refuses

- an object that sets ``blockOwnerDeletion: true`` on an owner reference unless the requester
  may ``update`` the owner's ``finalizers`` subresource (every child of a pipeline carries such
  a reference), and
- a change of an existing object's owner references unless the requester may ``delete`` that
  object.

Neither is a request of its own, so a recording proxy cannot see those permissions used: running
the operator through this server is what shows the chart grants them and that they are needed.
Two API servers on one etcd is how highly available control planes run; everything else
(controllers, kwok, the harness's kubectl) keeps using the first one and sees the same objects.
The two servers do take turns writing the ``default/kubernetes`` Service's target port (each its
own); nothing here uses that Service.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.harness.controlplane import SERVICE_CIDR
from tests.harness.kube_cluster import KubeCluster
from tests.harness.procs import ManagedProcess, free_port

PLUGIN = "OwnerReferencesPermissionEnforcement"


class NotTheHarnessPlane(LookupError):
    """The cluster was not started by tests/harness (no state.json beside its PKI)."""


@contextmanager
def enforcing_apiserver(kube: KubeCluster, scratch: Path) -> Iterator[str]:
    """Run the second API server for the block; yields its https URL (same CA, same tokens)."""
    run_dir = kube.ca_path.parent.parent
    state_path = run_dir / "state.json"
    if not state_path.is_file():
        raise NotTheHarnessPlane(f"no {state_path}: not a control plane started by tests/harness")
    state = json.loads(state_path.read_text())
    pki = kube.ca_path.parent
    port = free_port()
    server = f"https://127.0.0.1:{port}"
    scratch.mkdir(parents=True, exist_ok=True)
    proc = ManagedProcess(
        "kube-apiserver-owner-refs-enforced",
        [
            state["binaries"]["kube-apiserver"],
            f"--etcd-servers=http://127.0.0.1:{state['ports']['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}", f"--cert-dir={scratch}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={kube.ca_path}", f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--profiling=false",
            f"--enable-admission-plugins={PLUGIN}",
            "--disable-admission-plugins=TaintNodesByCondition",  # as the first one
        ],
        cwd=scratch,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(kube.ca_path))

    def ready() -> bool:
        try:
            answer = httpx.get(
                f"{server}/readyz", verify=context, timeout=2, trust_env=False,
                headers={"Authorization": f"Bearer {kube.admin_token}"},
            )  # fmt: skip
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    try:
        proc.wait_ready(ready, timeout=90)
        yield server
    finally:
        proc.stop(timeout=15)
