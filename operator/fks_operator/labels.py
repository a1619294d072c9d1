"""Label syntax and label selectors as Kubernetes checks them (apimachinery's
``IsQualifiedName``, ``IsValidLabelValue`` and ``ValidateLabelSelector``), so a selector the API
server would refuse in a NetworkPolicy is refused in the spec first (see docs/crds.md,
``networkPolicy``). Messages name the part at fault, never its value."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

#: A label name, and a non-empty label value: alphanumerics, '-', '_' and '.' inside.
_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
#: A DNS-1123 subdomain: the optional prefix of a label key.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME_MAX = 63
PREFIX_MAX = 253
KEY_RULE = "a Kubernetes label key ([prefix/]name, the name at most 63 characters)"
VALUE_RULE = "a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.')"


def is_label_key(key: str) -> bool:
    """``[prefix/]name``: a name of at most 63 characters, a prefix that is a DNS subdomain of
    at most 253."""
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= PREFIX_MAX and _SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= NAME_MAX and _NAME.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """Empty, or a label name: at most 63 characters."""
    return value == "" or (len(value) <= NAME_MAX and _NAME.fullmatch(value) is not None)


def check_requirement(key: str, operator: str, values: Collection[str]) -> None:
    """One ``matchExpressions`` entry; ValueError when the API server would refuse it."""
    if not is_label_key(key):
        raise ValueError(f"key is not {KEY_RULE}")
    if operator in ("In", "NotIn") and not values:
        raise ValueError(f"values must not be empty with operator {operator}")
    if operator in ("Exists", "DoesNotExist") and values:
        raise ValueError(f"values must be empty with operator {operator}")
    if not all(is_label_value(value) for value in values):
        raise ValueError(f"values holds an entry that is not {VALUE_RULE}")


def check_namespace_selector(match_labels: Mapping[str, str], expressions: int) -> None:
    """A namespace selector's ``matchLabels`` (its ``matchExpressions`` entries are checked one
    by one); ValueError when empty — ``{}`` selects every namespace — or refused by the API."""
    if not match_labels and not expressions:
        raise ValueError(
            "a namespace selector needs matchLabels or matchExpressions ({} would admit every "
            "namespace: to mean that, match key kubernetes.io/metadata.name with Exists)"
        )
    if not all(is_label_key(key) for key in match_labels):
        raise ValueError(f"matchLabels holds a key that is not {KEY_RULE}")
    if not all(is_label_value(value) for value in match_labels.values()):
        raise ValueError(f"matchLabels holds a value that is not {VALUE_RULE}")
