"""A handle on a running Kubernetes API server for tests: credentials, kubectl, clients, tokens.

``KubeCluster`` is what the ``kube`` pytest fixture returns (see tests/harness/controlplane.py for
the whole fixture API). It holds no processes: the local ControlPlane builds one, and
``KubeCluster.from_kubeconfig`` builds one for an already-running cluster.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from lightkube import Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta

from tests.harness.kube_pki import kubeconfig_text

T = TypeVar("T")
_TEMP_CA_PREFIX = "fks-kube-ca-"


class KubectlError(RuntimeError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        super().__init__(
            f"kubectl {' '.join(args)} exited {result.returncode}\n"
            f"stdout: {result.stdout.strip()[-2000:]}\nstderr: {result.stderr.strip()[-2000:]}"
        )


class UnknownIdentity(LookupError):
    pass


@dataclass
class KubeCluster:
    """Connection details of one cluster plus helpers; every token here is for tests only."""

    kubeconfig: Path
    server: str
    ca_path: Path
    admin_token: str
    kubectl_path: str
    user_tokens: dict[str, str] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)  # component -> log file (local plane)
    scratch_dir: Path | None = None  # where kubeconfig_for writes; a temp dir when unset
    _clients: dict[tuple[str, str | None], Client] = field(
        default_factory=dict, repr=False, compare=False
    )

    # -- identities -----------------------------------------------------------------------
    @property
    def users(self) -> list[str]:
        """The non-admin identities ``token_for`` knows (``alice``, ``bob`` on the local plane)."""
        return sorted(self.user_tokens)

    def token_for(self, user: str) -> str:
        """Bearer token of a non-admin user (authenticated, no groups, no RBAC until bound)."""
        try:
            return self.user_tokens[user]
        except KeyError:
            known = ", ".join(self.users) or "none (this cluster was not started by the harness)"
            raise UnknownIdentity(f"no token for user {user!r}; known users: {known}") from None

    def service_account_token(
        self,
        namespace: str,
        name: str,
        *,
        duration_seconds: int = 3600,
        audiences: tuple[str, ...] = (),
        create: bool = False,
    ) -> str:
        """A bound token for ServiceAccount ``namespace/name`` (the TokenRequest API).

        With ``create=True`` the ServiceAccount is created first when it does not exist.
        """
        if create:
            found = self.kubectl("get", "serviceaccount", name, "-n", namespace, check=False)
            if found.returncode != 0:
                self.kubectl("create", "serviceaccount", name, "-n", namespace)
        args = ["create", "token", name, "-n", namespace, f"--duration={duration_seconds}s"]
        args += [f"--audience={a}" for a in audiences]
        return self.kubectl(*args).stdout.strip()

    def kubeconfig_for(self, token: str, *, name: str = "user", path: Path | None = None) -> Path:
        """Write a kubeconfig that authenticates with ``token`` (e.g. to run a process as a SA)."""
        if path is None:
            if self.scratch_dir is None:
                self.scratch_dir = Path(tempfile.mkdtemp(prefix="fks-kube-"))
            path = self.scratch_dir / f"kubeconfig-{_slug(name)}-{time.monotonic_ns()}"
        target = path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(mode=0o600, exist_ok=True)
        target.write_text(kubeconfig_text(self.server, self.ca_path, token, _slug(name)))
        return target

    # -- kubectl and clients ----------------------------------------------------------------
    def kubectl(
        self,
        *args: str,
        token: str | None = None,
        kubeconfig: Path | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as admin, or with ``token``, or with another ``kubeconfig``;
        raises KubectlError (with stdout and stderr) on a non-zero exit when ``check``."""
        argv = [self.kubectl_path, f"--kubeconfig={kubeconfig or self.kubeconfig}", *args]
        if token is not None:
            argv.insert(2, f"--token={token}")
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def wait_established(self, crd: str, timeout: float = 60.0) -> None:
        """Wait until CustomResourceDefinition ``crd`` is Established. (Polled: ``kubectl wait
        --for=condition=Established`` fails at once, instead of waiting, when it reads the CRD
        before the API server has written any status condition.)"""
        deadline = time.monotonic() + timeout
        path = '{.status.conditions[?(@.type=="Established")].status}'
        while True:
            result = self.kubectl("get", f"crd/{crd}", "-o", f"jsonpath={path}", check=False)
            if result.returncode == 0 and result.stdout.strip() == "True":
                return
            if time.monotonic() > deadline:
                raise KubectlError(["wait-established", crd], result)
            time.sleep(0.1)

    def kubectl_json(self, *args: str, token: str | None = None) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json", token=token).stdout)

    def apply(self, manifest: str | Mapping[str, Any], *, namespace: str | None = None) -> str:
        """Server-side ``kubectl apply -f -`` of YAML text or a dict; returns kubectl's output."""
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(dict(manifest))
        args = ["apply", "--server-side", "--force-conflicts", "-f", "-"]
        if namespace:
            args += ["-n", namespace]
        return self.kubectl(*args, input=text).stdout

    def client(self, token: str | None = None, namespace: str | None = None) -> Client:
        """A lightkube Client as admin, or authenticating with ``token`` (cached; closed by
        ``close()`` at the end of the session, so tests need not close it)."""
        key = (token or self.admin_token, namespace)
        if key not in self._clients:
            config = KubeConfig.from_dict(
                yaml.safe_load(kubeconfig_text(self.server, self.ca_path, key[0]))
            )
            self._clients[key] = Client(
                config=config, namespace=namespace, field_manager="fks-tests", trust_env=False
            )
        return self._clients[key]

    def close(self) -> None:
        """Close the cached clients (the cluster itself keeps running)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.ca_path.name.startswith(_TEMP_CA_PREFIX):  # written by from_kubeconfig
            self.ca_path.unlink(missing_ok=True)

    # -- diagnostics --------------------------------------------------------------------------
    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every component's log, for assertion messages."""
        parts = []
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError as exc:
                text = [f"(cannot read: {exc})"]
            parts.append(f"--- {name} ({path}) ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no component logs: external cluster)"

    def wait_for(
        self,
        probe: Callable[[], T | None],
        *,
        timeout: float = 60.0,
        interval: float = 0.5,
        what: str = "condition",
        describe: Callable[[], str] | None = None,
    ) -> T:
        """Poll ``probe`` until it returns something truthy; on timeout raise with diagnostics.

        ``describe`` (optional) renders the current state for the failure message, e.g.
        ``lambda: kube.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout``.
        """
        __tracebackhide__ = True  # pytest: the failure points at the caller
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = probe()
                if value:
                    return value
            except Exception as exc:  # the probe's last error goes into the message
                last_error = exc
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        state = ""
        if describe is not None:
            try:
                state = describe()
            except Exception as exc:
                state = f"(describe failed: {exc})"
        raise TimeoutError(
            f"timed out after {timeout:.0f}s waiting for {what}"
            + (f"\nlast probe error: {last_error!r}" if last_error else "")
            + (f"\ncurrent state:\n{state}" if state else "")
            + f"\ncomponent logs:\n{self.log_tails()}"
        )

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeCluster:
        """Attach to a running cluster. Non-admin users are known only for harness-made clusters
        (``make cluster-up``: their tokens are in ``state.json`` next to the kubeconfig)."""
        path = path.resolve()
        if not path.is_file():
            raise FileNotFoundError(f"kubeconfig {path} does not exist")
        state_file = path.parent / "state.json"
        if state_file.is_file():
            state = json.loads(state_file.read_text())
            return cls(
                kubeconfig=path,
                server=state["server"],
                ca_path=Path(state["ca"]),
                admin_token=state["tokens"]["admin"],
                kubectl_path=state["kubectl"],
                user_tokens={u: state["tokens"][u] for u in state["users"]},
                logs={k: Path(v) for k, v in state["logs"].items()},
            )
        config = yaml.safe_load(path.read_text())
        context_name = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        if "token" not in user:
            raise ValueError(
                f"{path}: the harness needs a bearer-token user in the current context"
            )
        if "certificate-authority" in cluster:
            ca_path = Path(cluster["certificate-authority"])
        elif "certificate-authority-data" in cluster:
            handle, name = tempfile.mkstemp(prefix=_TEMP_CA_PREFIX, suffix=".crt")
            os.write(handle, base64.b64decode(cluster["certificate-authority-data"]))
            os.close(handle)
            ca_path = Path(name)
        else:
            raise ValueError(f"{path}: the current context's cluster has no certificate authority")
        kubectl = shutil.which("kubectl")
        from tests.harness.kube_binaries import bin_dir

        built = bin_dir() / "kubectl"
        return cls(
            kubeconfig=path,
            server=cluster["server"],
            ca_path=ca_path,
            admin_token=user["token"],
            kubectl_path=str(built) if built.is_file() else (kubectl or "kubectl"),
        )


class _HasMetadata(Protocol):
    @property
    def metadata(self) -> ObjectMeta | None: ...


def meta(obj: _HasMetadata) -> ObjectMeta:
    """``obj.metadata`` of a lightkube object read from the API server (where it is never None)."""
    if obj.metadata is None:
        raise AssertionError(f"{type(obj).__name__} without metadata")
    return obj.metadata


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40] or "x"
