"""Notifications (docs/notifications.md): where the executor reports what it did, and which of
its decisions to report. ``NotificationTarget`` is shared by the pipeline's
``spec.notifications[]`` (which adds ``secretRef``) and the executor config (which adds
``secretEnv``): the URL or bot token itself is never in either, only where to read it."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from fks_executor.config.types import ContractModel, CrdSchema, EnvName
from fks_executor.validation import KeyedError

__all__ = [
    "DEFAULT_NOTIFICATION_EVENTS",
    "NOTIFICATION_EVENTS",
    "NotificationConfig",
    "NotificationEvent",
    "NotificationTarget",
    "NotificationType",
    "notification_rules",
]

NotificationType = Literal["slack", "discord", "telegram", "webhook"]
NotificationEvent = Literal[
    "order_filled",
    "order_refused",
    "order_failed",
    "protection_failed",
    "circuit_open",
    "daily_loss_limit",
    "suspended",
    "live_order",
]
NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = get_args(NotificationEvent)
#: Everything but ``order_refused`` (every refused alert: often routine, e.g. below_minimum).
DEFAULT_NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = tuple(
    e for e in NOTIFICATION_EVENTS if e != "order_refused"
)

_CHAT_ID_RULE = {
    "rule": "self.type == 'telegram' ? (has(self.chatId) && self.chatId != '') : "
    "(!has(self.chatId) || self.chatId == '')",
    "message": "chatId is required with type telegram, and only with it",
    "fieldPath": ".chatId",
}
_ENDPOINT_RULE = {
    "rule": "!has(self.endpoint) || self.endpoint == '' || self.type == 'telegram'",
    "message": "endpoint is for type telegram only (for the others the Secret holds the URL)",
    "fieldPath": ".endpoint",
}


def notification_rules() -> list[dict[str, str]]:
    """The CEL rules of one notification (checked in Python by ``NotificationTarget`` too)."""
    return [dict(_CHAT_ID_RULE), dict(_ENDPOINT_RULE)]


def _schema_extra() -> dict[str, Any]:
    return {"x-kubernetes-validations": notification_rules()}


class NotificationTarget(ContractModel):
    """One destination for notifications and the events it gets."""

    model_config = ConfigDict(json_schema_extra=_schema_extra())

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """A name for this destination (lower case letters, digits and '-'), unique in the
    pipeline: it labels the fks_notifications_* metrics and the executor's log lines."""
    type: Annotated[NotificationType, CrdSchema(maxLength=8)]
    """slack (incoming webhook), discord (channel webhook), telegram (Bot API sendMessage) or
    webhook (a JSON POST to any URL)."""
    chat_id: str = Field(default="", max_length=64, pattern=r"^(-?[0-9]+|@[A-Za-z0-9_]{1,64})?$")
    """Telegram only (and required there): the chat the bot writes to, a numeric id
    (-100... for a group or channel) or @channelusername."""
    events: tuple[Annotated[NotificationEvent, CrdSchema(maxLength=32)], ...] = Field(
        default=DEFAULT_NOTIFICATION_EVENTS, min_length=1, max_length=8, strict=False
    )
    """The events sent to this destination (docs/notifications.md#events). Default: all but
    order_refused."""
    endpoint: str = Field(default="", max_length=2048, pattern=r"^(https?://[^\s]+)?$")
    """Telegram only: the Bot API base URL (default https://api.telegram.org), e.g. for a
    local Bot API server. For the other types the Secret holds the whole URL."""

    @model_validator(mode="after")
    def _per_type(self) -> NotificationTarget:
        if (self.type == "telegram") != bool(self.chat_id):
            raise KeyedError("chatId", _CHAT_ID_RULE["message"])
        if self.endpoint and self.type != "telegram":
            raise KeyedError("endpoint", _ENDPOINT_RULE["message"])
        return self


class NotificationConfig(NotificationTarget):
    """A destination in the executor config."""

    secret_env: EnvName = Field(min_length=1)
    """Environment variable holding the webhook URL (slack, discord, webhook) or the bot token
    (telegram)."""
