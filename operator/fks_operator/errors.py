"""The operator's own errors.

Every error the operator raises on purpose is an :class:`OperatorError`; its message is meant for
users (it lands in a condition message or an event), so it names the field or object at fault and
never contains secret values::

    OperatorError
    ├── SettingsError   the operator's environment (FKS_OPERATOR_*) is invalid; fatal at start-up
    ├── SpecError       a custom resource's spec cannot be used (names the field path)
    └── RenderError     the children cannot be rendered from otherwise valid inputs
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
