"""The operator's own errors.

Every error the operator raises on purpose is an :class:`OperatorError`; its message is meant for
users (it lands in a condition message or an event), so it names the field or object at fault and
never contains secret values::

    OperatorError
    ├── SettingsError   the operator's environment (FKS_OPERATOR_*) is invalid; fatal at start-up
    ├── SpecError       a custom resource's spec cannot be used (names the field path)
    ├── RenderError     the children cannot be rendered from otherwise valid inputs
    └── KubeError       a Kubernetes API call failed (translated in fks_operator.kube only)
        ├── ApiError        the API server answered with an error status (code, reason)
        └── ApiUnavailable  no answer: connection refused, timeout, TLS failure
"""

from __future__ import annotations


class OperatorError(Exception):
    """Base of every error the operator raises on purpose."""


class SettingsError(OperatorError):
    """An ``FKS_OPERATOR_*`` environment variable has an invalid value."""


class SpecError(OperatorError):
    """A custom resource's spec cannot be used.

    The CRD's schema and CEL rules reject almost every bad spec at the API server; this is the
    safety net for objects stored before a CRD upgrade, or for rules the schema cannot express.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class RenderError(OperatorError):
    """A child manifest cannot be rendered (e.g. two accounts map to one environment variable)."""


class KubeError(OperatorError):
    """A Kubernetes API call failed. Raised only by :mod:`fks_operator.kube`, the one seam that
    talks to the API server; the reconcile loop retries these with backoff."""


class ApiError(KubeError):
    """The API server refused a request (an HTTP error status with a metav1.Status body)."""

    def __init__(self, code: int, reason: str, message: str, *, what: str = "") -> None:
        self.code = code
        self.reason = reason
        self.message = message
        self.what = what
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{message or reason} (HTTP {code})")

    @property
    def namespace_gone(self) -> bool:
        """The namespace is being deleted or gone: nothing more can be written in it."""
        text = self.message.lower()
        return (self.code == 403 and "because it is being terminated" in text) or (
            self.code == 404 and text.startswith("namespaces ")
        )


class ApiUnavailable(KubeError):
    """The API server could not be reached (connection refused, timeout, TLS error)."""
