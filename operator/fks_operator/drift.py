"""What the operator last applied to each child, and what the watch last saw of it.

Server-side apply of an unchanged manifest is a no-op on the server, but still a request; a
pipeline is reconciled on every Deployment status change, so the operator skips the apply of a
child when both hold:

- the manifest it would apply is the one it applied last (same digest), and
- the child's *fingerprint* is unchanged since that apply.

The fingerprint covers what an apply would put back if someone else changed it: the object's
uid (deleted and re-created), its ``generation`` (any spec change), and the set of fields the
operator's field manager owns (``managedFields``): when someone else edits, removes or takes
over a field the operator set, the field leaves that set. Status updates and fields the operator
does not set change neither. Watch events keep the observed fingerprint current; a deleted child
has none. Anything unknown means "apply". A child the watch has not yet shown as applied is not
*confirmed*; the controller looks again a few seconds after an apply, so a change the watch
missed (e.g. a child deleted before its watch started) is still corrected.

A restarted process has applied nothing yet. Every applied child carries the digest of its
manifest (:data:`APPLIED_ANNOTATION`); a child whose annotation is the digest of the manifest
to apply, and which still has every field of that manifest (:func:`contains`, against the
watch cache's copy), is *adopted*: recorded as applied, without a request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

ChildKey = tuple[str, str, str]
"""(kind, namespace, name) of a child."""

APPLIED_ANNOTATION = "execution.fks.io/applied"
"""Annotation on every child: the digest of the manifest the operator last applied, so that a
restarted operator can tell, from its watch cache alone, that a child needs no apply."""


def digest(manifest: Mapping[str, Any]) -> str:
    """A stable hash of a manifest to apply."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(body: Mapping[str, Any], field_manager: str) -> str:
    """See the module docstring: uid, generation and the fields ``field_manager`` applied."""
    meta = body.get("metadata") or {}
    ours = [
        entry.get("fieldsV1")
        for entry in meta.get("managedFields") or ()
        if entry.get("manager") == field_manager
        and entry.get("operation") == "Apply"
        and not entry.get("subresource")
    ]
    text = json.dumps(
        [meta.get("uid"), meta.get("generation"), ours], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def contains(live: Any, wanted: Any) -> bool:
    """Whether ``live`` has every field of ``wanted`` with the same value (lists: same length,
    item by item). Fields the server added (defaults) do not matter; a value the server
    normalised (e.g. a quantity) reads as different, which only costs an apply."""
    if isinstance(wanted, Mapping):
        return isinstance(live, Mapping) and all(
            key in live and contains(live[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(contains(a, b) for a, b in zip(live, wanted, strict=True))
        )
    return bool(live == wanted)


def with_digest(manifest: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The manifest to apply, annotated with its own digest (:data:`APPLIED_ANNOTATION`), and
    that digest."""
    manifest_digest = digest(manifest)
    meta = dict(manifest["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED_ANNOTATION: manifest_digest}
    return {**manifest, "metadata": meta}, manifest_digest


class Observation(Protocol):
    """A child as the watch cache last showed it (:class:`fks_operator.caches.ChildRecord`)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def owner_uid(self) -> str | None: ...
    @property
    def applied_digest(self) -> str: ...
    def body(self) -> dict[str, Any]: ...


class ChildStates:
    """Per child: the last apply (digest, fingerprint); what the watch shows comes from
    ``lookup`` (the watch cache)."""

    def __init__(
        self, field_manager: str, lookup: Callable[[ChildKey], Observation | None]
    ) -> None:
        self.field_manager = field_manager
        self._lookup = lookup
        self._applied: dict[ChildKey, tuple[str, str]] = {}

    def drifted(self, key: ChildKey) -> bool:
        """Whether the child, as the watch shows it now, differs from what the operator last
        applied (drift, deleted, or never applied or adopted by this process)."""
        seen = self._lookup(key)
        applied = self._applied.get(key)
        return seen is None or applied is None or applied[1] != seen.fingerprint

    def applied(self, key: ChildKey, manifest_digest: str, response: Mapping[str, Any]) -> None:
        """Record a successful apply and the object the API server returned. Until the watch
        shows this write, the child is not :meth:`confirmed` (and a reconcile in between applies
        it again, a no-op)."""
        self._applied[key] = (manifest_digest, fingerprint(response, self.field_manager))

    def up_to_date(self, key: ChildKey, manifest: Mapping[str, Any], manifest_digest: str) -> bool:
        """Whether applying ``manifest`` (annotated, with ``manifest_digest``) would change
        nothing. A child this process has not applied yet (a restart) is *adopted* when the
        watch shows it carrying this digest and every field of ``manifest`` unchanged."""
        applied = self._applied.get(key)
        if applied is not None:
            return applied[0] == manifest_digest and self.confirmed(key)
        seen = self._lookup(key)
        if seen is None or seen.applied_digest != manifest_digest:
            return False
        if not contains(seen.body(), manifest):
            return False
        self._applied[key] = (manifest_digest, seen.fingerprint)
        return True

    def confirmed(self, key: ChildKey) -> bool:
        """Whether the watch has shown the child as the operator last applied it."""
        applied = self._applied.get(key)
        seen = self._lookup(key)
        return applied is not None and seen is not None and applied[1] == seen.fingerprint

    def observed(self, key: ChildKey) -> Observation | None:
        """The child as the watch shows it (None: it does not exist, or is not labelled as the
        operator's)."""
        return self._lookup(key)

    def absent(self, key: ChildKey) -> None:
        """Forget the last apply of a child just deleted."""
        self._applied.pop(key, None)

    def forget(self, namespace: str, names: set[str]) -> None:
        """Drop everything about the children named ``names`` in ``namespace``."""
        for key in [k for k in self._applied if k[1] == namespace and k[2] in names]:
            del self._applied[key]

    def __len__(self) -> int:
        return len(self._applied)
