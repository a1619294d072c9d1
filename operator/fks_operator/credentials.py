"""Where the API server is and how to log in: the kubeconfig (``$KUBECONFIG`` or
``~/.kube/config``) or, in a pod, its ServiceAccount, read with lightkube's loader; the TLS
context and ``Authorization`` header every request of :class:`fks_operator.kube.KubeApi` uses.
kopf's watches log in with the same credentials (:func:`fks_operator.handlers.connection_info`).
"""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

from lightkube.config.client_adapter import verify_cluster
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.config.models import User
from lightkube.core.exceptions import ConfigError

from fks_operator.errors import ApiUnavailable, SettingsError


def load_config() -> SingleConfig:
    """The API connection: in-cluster ServiceAccount when running in a pod, else ``$KUBECONFIG``
    (or ``~/.kube/config``). Raises SettingsError when neither is usable."""
    try:
        config = KubeConfig.from_env().get()
    except (ConfigError, OSError, KeyError) as exc:
        raise SettingsError(
            "no Kubernetes API credentials: not running in a pod with a ServiceAccount, and "
            f"no usable kubeconfig (KUBECONFIG or ~/.kube/config): {exc}"
        ) from None
    if config is None:  # pragma: no cover - get() without a default never returns None
        raise SettingsError("the kubeconfig has no current context")
    user = config.user
    if user is not None and (user.exec or user.auth_provider) and not _has_credentials(config):
        # kopf's watches log in with the same credentials (handlers.connection_info), which
        # cannot run an exec plugin: refused here rather than failing every request later.
        raise SettingsError(
            f"kubeconfig user of context {config.context_name!r} authenticates with an exec "
            "plugin or auth provider, which the operator does not support: use a token, a "
            "token file or a client certificate"
        )
    return config


def _has_credentials(config: SingleConfig) -> bool:
    user = config.user
    return user is not None and bool(
        user.token
        or user.token_file
        or user.client_cert
        or user.client_cert_data
        or (user.username and user.password)
    )


class Credentials:
    """The ``Authorization`` header of the kubeconfig's user: a bearer token, a token file
    (a ServiceAccount's, rotated by the kubelet: read again after a 401, as client-go does) or
    a user name and password; none with a client certificate (in the TLS context)."""

    def __init__(self, config: SingleConfig) -> None:
        user = config.user
        self._token_file = Path(user.token_file) if user and user.token_file else None
        self._header: str | None = None
        if user is not None and user.token:
            self._header = f"Bearer {user.token}"
        elif user is not None and user.username and user.password:
            basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
            self._header = f"Basic {basic}"

    @property
    def renewable(self) -> bool:
        return self._token_file is not None

    def header(self, *, renew: bool = False) -> dict[str, str]:
        if self._token_file is not None and (renew or self._header is None):
            try:
                token = self._token_file.read_text().strip()
            except OSError as exc:
                raise ApiUnavailable(f"cannot read the API token file: {exc}") from None
            self._header = f"Bearer {token}"
        return {"Authorization": self._header} if self._header else {}


def tls_context(config: SingleConfig) -> ssl.SSLContext | None:
    """The TLS context lightkube would use (CA, client certificate, insecure), or None for a
    plain-HTTP server. An https server is always verified (unless the kubeconfig says
    ``insecure-skip-tls-verify``), with or without a user."""
    if not config.cluster.server.startswith("https:"):
        return None
    try:
        user = config.user if config.user is not None else User()
        return verify_cluster(config.cluster, user, config.abs_file, trust_env=False)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise SettingsError(f"kubeconfig: unusable CA or client certificate: {exc}") from None
