"""Who refers to whom, read from raw API objects (pure; tolerant of malformed specs).

The watch handlers use these to turn an event on one object into the keys to reconcile: an
ExchangeAccount or Secret event into every pipeline (and account) that uses it, a child event
into its owning pipeline. They read the raw dicts, not the typed models, so an object whose spec
does not parse is still indexed (and its reconcile reports the problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fks_operator.specs import GROUP

Ref = tuple[str, str]
"""(namespace, name) of an object."""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def pipeline_accounts(body: Mapping[str, Any]) -> list[str]:
    """Names of the ExchangeAccounts a pipeline names in ``spec.accounts``."""
    accounts = _mapping(body.get("spec")).get("accounts")
    if not isinstance(accounts, list):
        return []
    names = (_name(_mapping(item).get("name")) for item in accounts)
    return sorted({name for name in names if name})


def pipeline_secrets(body: Mapping[str, Any]) -> list[str]:
    """Names of the Secrets a pipeline refers to directly: the webhook secret, with backend
    redis the Redis secret, and each notification's (account credentials are reached through
    the accounts)."""
    spec = _mapping(body.get("spec"))
    names = {_name(_mapping(_mapping(spec.get("webhook")).get("secretRef")).get("name"))}
    state = _mapping(spec.get("state"))
    if state.get("backend") == "redis":
        names.add(_name(_mapping(state.get("redisSecretRef")).get("name")))
    notifications = spec.get("notifications")
    for item in notifications if isinstance(notifications, list) else ():
        names.add(_name(_mapping(_mapping(item).get("secretRef")).get("name")))
    return sorted(name for name in names if name)


def account_secret(body: Mapping[str, Any]) -> str | None:
    """Name of an ExchangeAccount's credentials Secret, if it has one."""
    return _name(_mapping(_mapping(body.get("spec")).get("credentialsSecretRef")).get("name"))


def owner_pipeline(body: Mapping[str, Any]) -> str | None:
    """Name of the ExecutionPipeline that controls a child (its controller owner reference)."""
    for ref in _mapping(body.get("metadata")).get("ownerReferences") or ():
        ref = _mapping(ref)
        api_version = str(ref.get("apiVersion", ""))
        if (
            ref.get("kind") == "ExecutionPipeline"
            and api_version.startswith(f"{GROUP}/")
            and ref.get("controller") is True
        ):
            return _name(ref.get("name"))
    return None


def owner_uid(body: Mapping[str, Any]) -> str | None:
    """uid in a child's controller owner reference to an ExecutionPipeline."""
    for ref in _mapping(body.get("metadata")).get("ownerReferences") or ():
        ref = _mapping(ref)
        if ref.get("kind") == "ExecutionPipeline" and ref.get("controller") is True:
            return _name(ref.get("uid"))
    return None
