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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ChildKey = tuple[str, str, str]
"""(kind, namespace, name) of a child."""


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


@dataclass(frozen=True, slots=True)
class Observed:
    """A child as last seen (watch event or API response)."""

    uid: str
    fingerprint: str
    owner_uid: str | None


class ChildStates:
    """Per child: the last apply (digest, fingerprint) and the last observation."""

    def __init__(self, field_manager: str) -> None:
        self.field_manager = field_manager
        self._applied: dict[ChildKey, tuple[str, str]] = {}
        self._observed: dict[ChildKey, Observed | None] = {}  # None: known to be absent

    def _observation(self, body: Mapping[str, Any], owner_uid: str | None) -> Observed:
        meta = body.get("metadata") or {}
        return Observed(
            uid=str(meta.get("uid", "")),
            fingerprint=fingerprint(body, self.field_manager),
            owner_uid=owner_uid,
        )

    def observe(self, key: ChildKey, body: Mapping[str, Any] | None, owner_uid: str | None) -> bool:
        """Record a watch event (``body`` None: deleted). Returns whether the child now differs
        from what the operator last applied (drift, or never applied by this process)."""
        if body is None:
            self._observed[key] = None
            return True
        seen = self._observation(body, owner_uid)
        self._observed[key] = seen
        applied = self._applied.get(key)
        return applied is None or applied[1] != seen.fingerprint

    def applied(self, key: ChildKey, manifest_digest: str, response: Mapping[str, Any]) -> None:
        """Record a successful apply and the object the API server returned. Only the watch
        updates what is observed: until the echo of this write arrives the child is not
        :meth:`confirmed` (and a reconcile in between applies it again, a no-op)."""
        self._applied[key] = (manifest_digest, fingerprint(response, self.field_manager))

    def up_to_date(self, key: ChildKey, manifest_digest: str) -> bool:
        """Whether applying ``manifest_digest`` to the child would change nothing."""
        applied = self._applied.get(key)
        return applied is not None and applied[0] == manifest_digest and self.confirmed(key)

    def confirmed(self, key: ChildKey) -> bool:
        """Whether the watch has shown the child as the operator last applied it."""
        applied = self._applied.get(key)
        seen = self._observed.get(key)
        return applied is not None and seen is not None and applied[1] == seen.fingerprint

    def known_absent(self, key: ChildKey) -> bool:
        """Whether the child is known not to exist (deleted, or never seen since a 404)."""
        return key in self._observed and self._observed[key] is None

    def observed(self, key: ChildKey) -> Observed | None:
        return self._observed.get(key)

    def absent(self, key: ChildKey) -> None:
        """Record that the child does not exist (after a delete or a 404)."""
        self._observed[key] = None
        self._applied.pop(key, None)

    def reset_applied(self) -> None:
        """Forget every apply, so the next reconcile of each child applies it again."""
        self._applied.clear()

    def forget(self, namespace: str, names: set[str]) -> None:
        """Drop everything about the children named ``names`` in ``namespace``."""
        for store in (self._applied, self._observed):
            for key in [k for k in store if k[1] == namespace and k[2] in names]:
                del store[key]

    def __len__(self) -> int:
        return len(self._observed)
