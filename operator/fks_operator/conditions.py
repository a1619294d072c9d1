"""Status conditions: types, fixed reasons, and a pure merge.

Conditions follow metav1.Condition: ``type``, ``status`` (True/False/Unknown), a CamelCase
``reason`` from the constants below, a ``message`` for humans (never a secret value),
``observedGeneration`` and ``lastTransitionTime``. :func:`merge_conditions` only moves
``lastTransitionTime`` when a condition's status flips, and returns the same list for the same
inputs, so the caller can compare old and new status and write only on change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["True", "False", "Unknown"]

#: Longest message kept (metav1.Condition allows 32768; events and columns want far less).
MAX_MESSAGE = 1024


class ConditionType:
    """Condition types the operator sets."""

    RECONCILED = "Reconciled"
    """ExecutionPipeline: the children for the current spec are applied."""
    READY = "Ready"
    """ExecutionPipeline: executors run and are ready; ExchangeAccount: usable."""


class AccountReason:
    """Reasons of an ExchangeAccount's ``Ready`` condition."""

    CREDENTIALS_FOUND = "CredentialsFound"
    """True: the exchange is known, the environment supported and every credentials key present."""
    NO_CREDENTIALS = "NoCredentials"
    """True: no credentialsSecretRef; only dry-run pipelines can use the account."""
    SECRET_MISSING = "SecretMissing"  # noqa: S105 - a reason, not a secret
    """False: the credentials Secret does not exist."""
    KEY_MISSING = "KeyMissing"
    """False: the credentials Secret lacks a key (or it is empty)."""
    EXCHANGE_UNSUPPORTED = "ExchangeUnsupported"
    """False: ccxt does not know the exchange id."""
    SANDBOX_UNSUPPORTED = "SandboxUnsupported"
    """False: environment testnet on an exchange without a sandbox in ccxt."""
    LIVE_NOT_ACKNOWLEDGED = "LiveNotAcknowledged"
    """False: environment live without acknowledgeLiveTrading (stored before the CEL rule)."""
    INVALID_SPEC = "InvalidSpec"
    """False: the spec cannot be parsed (stored before a schema change)."""


class PipelineReason:
    """Reasons of an ExecutionPipeline's ``Reconciled`` and ``Ready`` conditions."""

    APPLIED = "Applied"
    """Reconciled True: every child is applied for the current generation."""
    INVALID_SPEC = "InvalidSpec"
    """Reconciled/Ready False: the spec cannot be used (the message names the field)."""
    ACCOUNT_MISSING = "AccountMissing"
    """Reconciled/Ready False: a referenced ExchangeAccount does not exist."""
    ACCOUNT_NOT_READY = "AccountNotReady"
    """Reconciled/Ready False: a referenced ExchangeAccount is not Ready, or has no credentials
    while the pipeline is not dry-run."""
    SECRET_MISSING = "SecretMissing"  # noqa: S105 - a reason, not a secret
    """Reconciled/Ready False: the webhook or Redis Secret does not exist."""
    KEY_MISSING = "KeyMissing"
    """Reconciled/Ready False: the webhook or Redis Secret lacks its key (or it is empty)."""
    WEBHOOK_SECRET_WEAK = "WebhookSecretWeak"  # noqa: S105 - a reason, not a secret
    """Reconciled/Ready False: the webhook secret is shorter than 32 bytes or a value shipped in
    examples/ or docs/ (the message names the Secret, never the value)."""
    RENDER_FAILED = "RenderFailed"
    """Reconciled/Ready False: the children cannot be rendered (the message says why)."""
    APPLY_FAILED = "ApplyFailed"
    """Reconciled False: the API server refused a child (retried with backoff)."""
    EXECUTORS_READY = "ExecutorsReady"
    """Ready True: every desired executor pod runs the current template and is ready."""
    ROLLOUT_IN_PROGRESS = "RolloutInProgress"
    """Ready False: the Deployment is rolling out the current template."""
    EXECUTORS_NOT_READY = "ExecutorsNotReady"
    """Ready False: fewer ready executor pods than desired (or no Deployment yet)."""
    ROLLOUT_FAILED = "RolloutFailed"
    """Ready False: the Deployment exceeded its progress deadline."""
    SCALED_TO_ZERO = "ScaledToZero"
    """Ready False: replicas is 0, so nothing receives alerts."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition to set; ``lastTransitionTime`` is decided by :func:`merge_conditions`."""

    type: str
    status: ConditionStatus
    reason: str
    message: str
    observed_generation: int

    @classmethod
    def true(cls, type_: str, reason: str, message: str, generation: int) -> Condition:
        return cls(type_, "True", reason, message, generation)

    @classmethod
    def false(cls, type_: str, reason: str, message: str, generation: int) -> Condition:
        return cls(type_, "False", reason, message, generation)

    @property
    def is_true(self) -> bool:
        return self.status == "True"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as the API server stores metav1.Time."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def merge_conditions(
    existing: Iterable[Mapping[str, Any]] | None,
    updates: Sequence[Condition],
    now: datetime,
) -> list[dict[str, Any]]:
    """The condition list after setting ``updates`` on ``existing``.

    - A condition whose status did not change keeps its ``lastTransitionTime`` (reason, message
      and observedGeneration are updated); one whose status flipped, or is new, gets ``now``.
    - Conditions of other types (set by someone else) are kept untouched, in place.
    - Order: existing order, new types appended in the order given.
    """
    result: list[dict[str, Any]] = [dict(item) for item in existing or ()]
    index = {item.get("type"): position for position, item in enumerate(result)}
    for update in updates:
        rendered: dict[str, Any] = {
            "type": update.type,
            "status": update.status,
            "observedGeneration": update.observed_generation,
            "lastTransitionTime": format_time(now),
            "reason": update.reason,
            "message": truncate(update.message),
        }
        position = index.get(update.type)
        if position is None:
            index[update.type] = len(result)
            result.append(rendered)
            continue
        previous = result[position]
        if previous.get("status") == update.status and previous.get("lastTransitionTime"):
            rendered["lastTransitionTime"] = previous["lastTransitionTime"]
        result[position] = rendered
    return result


def find_condition(
    conditions: Iterable[Mapping[str, Any]] | None, type_: str
) -> Mapping[str, Any] | None:
    """The condition of ``type_`` in a status' condition list, or None."""
    for item in conditions or ():
        if item.get("type") == type_:
            return item
    return None
