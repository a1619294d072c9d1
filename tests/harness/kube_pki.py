"""Certificates, keys, static tokens and kubeconfigs for the local control plane (openssl only).

Everything is generated fresh per run under ``<run dir>/pki`` and is only valid on 127.0.0.1:
- a CA (``ca.crt``) that signs the kube-apiserver serving certificate (SAN 127.0.0.1, localhost,
  the in-cluster names and the first service IP 10.0.0.1);
- the service-account signing key pair (``sa.key`` / ``sa.pub``);
- ``tokens.csv`` for ``--token-auth-file``: the admin (group system:masters), the identities the
  controller-manager, scheduler and kwok run as, and non-admin users with no groups (RBAC tests).
"""

from __future__ import annotations

import csv
import io
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

# user -> groups. The controller-manager and scheduler run as the users the default RBAC
# bootstrap policy binds (system:kube-controller-manager, system:kube-scheduler). kwok plays every
# kubelet and needs to write node and pod status cluster-wide, so it runs as a system:masters user.
COMPONENT_USERS: dict[str, tuple[str, ...]] = {
    "admin": ("system:masters",),
    "system:kube-controller-manager": (),
    "system:kube-scheduler": (),
    "kwok-controller": ("system:masters",),
}
# Non-admin identities for tests: authenticated, no groups, no permissions until a test binds some.
TEST_USERS: tuple[str, ...] = ("alice", "bob")


class PkiError(RuntimeError):
    pass


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path
    token_file: Path
    tokens: dict[str, str]  # user -> bearer token


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise PkiError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def generate(directory: Path, users: tuple[str, ...] = TEST_USERS) -> Pki:
    """Write a fresh CA, serving cert, service-account keys and token file into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
        "-subj", "/CN=fks-local-control-plane-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        cwd=directory,
    )  # fmt: skip
    san = (
        "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    )
    _openssl(
        "req", "-new", *ec, "-keyout", "apiserver.key", "-out", "apiserver.csr",
        "-subj", "/CN=kube-apiserver", "-addext", san,
        cwd=directory,
    )  # fmt: skip
    extensions = directory / "apiserver.ext"
    extensions.write_text(
        f"{san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "apiserver.crt", "-days", "30", "-extfile", "apiserver.ext",
        cwd=directory,
    )  # fmt: skip
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key",
             cwd=directory)  # fmt: skip
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)

    tokens = {user: secrets.token_urlsafe(32) for user in (*COMPONENT_USERS, *users)}
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for user, token in tokens.items():
        groups = ",".join(COMPONENT_USERS.get(user, ()))
        writer.writerow(
            [token, user, f"uid-{user}", groups] if groups else [token, user, f"uid-{user}"]
        )
    token_file = directory / "tokens.csv"
    token_file.write_text(rows.getvalue())
    for path in directory.iterdir():
        path.chmod(0o600)
    return Pki(
        directory=directory,
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        sa_key=directory / "sa.key",
        sa_pub=directory / "sa.pub",
        token_file=token_file,
        tokens=tokens,
    )


def kubeconfig_text(server: str, ca_cert: Path, token: str, user: str = "admin") -> str:
    """A kubeconfig with one cluster, one token user and a current context named ``fks-local``."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "fks-local",
                "cluster": {"server": server, "certificate-authority": str(ca_cert)},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "fks-local", "context": {"cluster": "fks-local", "user": user}}],
        "current-context": "fks-local",
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(
    path: Path, server: str, ca_cert: Path, token: str, user: str = "admin"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(kubeconfig_text(server, ca_cert, token, user))
    return path
