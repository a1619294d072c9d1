"""kopf wiring and the command line, without a cluster: credentials handed to kopf, kopf's
settings, the handlers registered, and clear errors before anything starts."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import cast

import kopf
import pytest
from lightkube.config.kubeconfig import KubeConfig

from fks_operator.__main__ import main
from fks_operator.accounts import StaticCatalog
from fks_operator.controller import Controller
from fks_operator.credentials import Credentials, tls_context
from fks_operator.handlers import (
    MANAGED_SELECTOR,
    NoDiffBase,
    NoProgress,
    build_registry,
    configure,
    connection_info,
)
from fks_operator.kube import KubeApi
from fks_operator.metrics import Metrics
from fks_operator.settings import OperatorSettings

PIPELINE_RESOURCE = kopf.Resource(
    "execution.fks.io", "v1alpha1", "executionpipelines", kind="ExecutionPipeline", namespaced=True
)
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def write_kubeconfig(tmp_path: Path, user: str) -> Path:
    (tmp_path / "ca.crt").write_text(CA)
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443', "
        "certificate-authority: ca.crt}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u, namespace: trading}}]\n"
        f"users: [{{name: u, user: {user}}}]\n"
    )
    return path


def test_kopf_gets_the_same_credentials(tmp_path: Path) -> None:
    config = KubeConfig.from_file(write_kubeconfig(tmp_path, "{token: abc}")).get()
    info = connection_info(config)
    assert info.server == "https://127.0.0.1:6443"
    assert info.ca_path == str(tmp_path / "ca.crt"), "relative paths resolve next to the file"
    assert (info.scheme, info.token) == ("Bearer", "abc")
    assert info.default_namespace == "trading"


def test_a_token_file_is_read_at_every_login(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = KubeConfig.from_file(write_kubeconfig(tmp_path, f"{{tokenFile: {token}}}")).get()
    assert connection_info(config).token == "first"
    token.write_text("rotated\n")
    assert connection_info(config).token == "rotated"


def test_kopf_settings_store_nothing_on_the_objects() -> None:
    settings = kopf.OperatorSettings()
    configure(settings)
    assert settings.peering.standalone is True
    assert settings.posting.enabled is False
    assert settings.watching.server_timeout is not None
    selectors = set(settings.watching.label_selectors.collect(
        kopf.Resource("apps", "v1", "deployments", kind="Deployment", namespaced=True)
    ))  # fmt: skip
    assert selectors == {MANAGED_SELECTOR}
    secrets = kopf.Resource("", "v1", "secrets", kind="Secret", namespaced=True)
    assert settings.watching.label_selectors.collect(secrets) == []
    assert isinstance(settings.persistence.diffbase_storage, NoDiffBase)
    assert isinstance(settings.persistence.progress_storage, NoProgress)


def test_only_event_handlers_and_indices_so_no_diff_base_is_needed(tmp_path: Path) -> None:
    """NoDiffBase and NoProgress are safe only while kopf has no change-detecting handlers or
    daemons to feed:
    a handler of that sort added one day would see every object as new."""
    config = KubeConfig.from_file(write_kubeconfig(tmp_path, "{token: abc}")).get()
    controller = Controller(
        cast(KubeApi, object()),
        OperatorSettings(),
        catalog=StaticCatalog(frozenset(), frozenset()),
        metrics=Metrics(),
        indices={},
    )
    registry = build_registry(controller, config)
    assert registry._watching.has_handlers(resource=PIPELINE_RESOURCE)
    assert not registry._changing.get_all_handlers()
    assert not registry._spawning.get_all_handlers()


def test_help_works_without_settings_or_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert "FKS_OPERATOR_NAMESPACES" in capsys.readouterr().out


def test_bad_settings_exit_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FKS_OPERATOR_LOG_LEVEL", "chatty")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "fks-operator: FKS_OPERATOR_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL, got 'CHATTY'\n"
    )


def test_kopf_identity_never_needs_the_passwd_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from fks_operator.__main__ import _identity

    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 65532")  # a uid without a passwd entry

    monkeypatch.setattr(getpass, "getuser", no_user)
    monkeypatch.setenv("POD_ID", "fks-operator-7d9f-abcde")
    assert _identity() == "fks-operator-7d9f-abcde"
    monkeypatch.delenv("POD_ID")
    assert _identity().startswith("fks-operator@")


def test_an_exec_plugin_user_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """kopf's watches cannot run an exec credential plugin: refused with exit status 2."""
    user = "{exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: get-token}}"
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path, user)))
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("fks-operator: kubeconfig user of context 'c' authenticates with an exec")
    assert err.count("\n") == 1


def test_credentials_of_a_token_file_are_read_again_on_renewal(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = KubeConfig.from_file(write_kubeconfig(tmp_path, f"{{tokenFile: {token}}}")).get()
    credentials = Credentials(config)
    assert credentials.renewable
    assert credentials.header() == {"Authorization": "Bearer first"}
    token.write_text("rotated\n")
    assert credentials.header() == {"Authorization": "Bearer first"}, "kept until a 401"
    assert credentials.header(renew=True) == {"Authorization": "Bearer rotated"}


def test_credentials_of_a_password_user_are_basic_auth(tmp_path: Path) -> None:
    config = KubeConfig.from_file(write_kubeconfig(tmp_path, "{username: ann, password: pw}")).get()
    assert Credentials(config).header() == {"Authorization": "Basic YW5uOnB3"}


def test_an_https_server_is_verified_even_without_a_user(tmp_path: Path) -> None:
    """A kubeconfig without a user (no credentials) must still verify the API server's
    certificate: an unverified connection would hand kopf's and the operator's requests to
    whoever answers."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "contexts: [{name: c, context: {cluster: k}}]\n"
    )
    config = KubeConfig.from_file(path).get()
    assert config.user is None
    context = tls_context(config)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
