"""Label syntax as Kubernetes defines it (apimachinery's ``IsQualifiedName`` and
``IsValidLabelValue``), so a selector the API server would refuse is refused in the spec first
(see docs/crds.md, ``networkPolicy``)."""

from __future__ import annotations

import re

#: A label name, and a non-empty label value: alphanumerics, '-', '_' and '.' inside.
_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
#: A DNS-1123 subdomain: the optional prefix of a label key.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME_MAX = 63
PREFIX_MAX = 253
#: What a key and a value must be, for error messages.
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
