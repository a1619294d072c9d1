"""One way to tell a person what is wrong with what they wrote: a pydantic ``ValidationError``
as ONE line, ``<path>: <what is wrong>``, e.g. ``risk.sizing.method: must be one of risk, ...``.

Used by the executor's config loader, the alert parser and the operator's custom resources, so
the three say the same thing the same way. The message never quotes the value that was given (an
alert is written by anyone, a secret may sit in the wrong field): only the field's path, what it
must be, and a validator's own words. A path may hold a mapping key that was given (a config
file's ``dryrun: unknown key``): callers facing untrusted input check :attr:`Problem.unknown`.

Imports pydantic and the standard library only: the operator image imports it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

__all__ = ["KeyedError", "Problem", "first_problem", "path_of"]


class KeyedError(ValueError):
    """Raised from a model validator to name a key below the model being validated, e.g.
    ``KeyedError("state.journalPath", "required when ...")`` from the top-level model."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing wrong: where, what, and how many other things are wrong."""

    path: str
    """``risk.sizing.method``, ``accounts[0].name``; ``(top level)`` for the whole document."""
    message: str
    """``must be greater than 0``, ``required``, a validator's own message."""
    more: int = 0
    """Further independent errors (follow-on errors of the same container not counted)."""
    unknown: bool = False
    """The path ends in a key the schema does not know (its name is whatever was sent)."""

    def __str__(self) -> str:
        extra = f" (and {self.more} more)" if self.more else ""
        return f"{self.path}: {self.message}{extra}".replace("\n", " ")


def path_of(loc: Sequence[int | str], rename: Mapping[str, str] | None = None) -> str:
    """``("accounts", 0, "name")`` -> ``accounts[0].name``; ``rename`` maps a first key to the
    name it was sent as (an alias)."""
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if index == 0 and rename:
            part = rename.get(part, part)
        out += f".{part}" if out else part
    return out or "(top level)"


def first_problem(exc: ValidationError, rename: Mapping[str, str] | None = None) -> Problem:
    """The first error of ``exc`` in the project's words (see the module docstring)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    loc = tuple(first["loc"])
    message = _message(first)
    error = (first.get("ctx") or {}).get("error")
    if first["type"] == "value_error" and isinstance(error, KeyedError):
        loc = (*loc, *_split_key(error.key))
    # Drop follow-on errors of a container whose item already failed (e.g. a too-short list).
    first_loc = tuple(first["loc"])
    more = [e for e in errors[1:] if tuple(e["loc"]) != first_loc[: len(e["loc"])]]
    return Problem(
        path=path_of(loc, rename),
        message=message,
        more=len(more),
        unknown=first["type"] == "extra_forbidden",
    )


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {expected}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    return re.sub(r"^\w+ should", "must", error["msg"])


def _split_key(key: str) -> tuple[int | str, ...]:
    parts: list[int | str] = []
    for piece in key.replace("]", "").replace("[", ".").split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)
