"""``@value``: a frozen, slotted dataclass (equal values hash equal; ``dataclasses.replace``
makes changed copies). What it says to the type checker is what it is at run time.

Kept for the exchange layer's records, which still use the name; new code writes
``@dataclass(frozen=True, slots=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

__all__ = ["value"]

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: type[T]) -> type[T]:
    return dataclass(frozen=True, slots=True)(cls)
